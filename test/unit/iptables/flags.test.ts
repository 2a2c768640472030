import t from 'tap';
import { defaultIptablesOptions, parseGoDuration, parseIptablesArgs } from '../../../src/iptables/flags';

const parse = (argv: string[], env: Record<string, string> = {}) => parseIptablesArgs(argv, env);

t.test('defaults are istio-iptables\'', async (t) => {
  const r = parse([]);
  t.same(r.errors, []);
  t.equal(r.help, false);
  const o = r.options;
  t.equal(o.envoyPort, '15001');
  t.equal(o.inboundCapturePort, '15006');
  t.equal(o.inboundTunnelPort, '15008');
  t.equal(o.proxyUid, '', 'resolved later: ENVOY_USER uid, else 1337');
  t.equal(o.proxyGid, '', 'resolved later: same as -u');
  t.equal(o.tproxyMark, '1337');
  t.equal(o.tproxyRouteTable, '133');
  t.equal(o.inboundPorts, '');
  t.equal(o.serviceCidr, '');
  t.equal(o.iptablesProbePort, 15002);
  t.equal(o.probeTimeoutMs, 5000);
  t.equal(o.ownerGroupsInclude, '*');
  t.equal(o.ownerGroupsExclude, '');
  t.equal(o.hostIpv4LoopbackCidr, '127.0.0.1/32');
  t.equal(o.envoyUser, 'istio-proxy');
  t.same(r.options, defaultIptablesOptions());
});

t.test('the injector\'s command line', async (t) => {
  const r = parse(['-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*',
    '-d', '15090,15021,15020', '--log_output_level=default:info']);
  t.same(r.errors, []);
  t.equal(r.options.serviceCidr, '*');
  t.equal(r.options.serviceExcludeCidr, '');
  t.equal(r.options.inboundPorts, '*');
  t.equal(r.options.localExcludePorts, '15090,15021,15020');
  t.equal(r.options.interceptionMode, 'REDIRECT');
});

t.test('long and short forms, pflag style', async (t) => {
  const r = parse(['--envoy-port=1', '--inbound-capture-port', '2', '-e3', '-u=4', '-g', '5', '-n', '--redirect-dns',
    '--capture-all-dns=false', '-k', 'eth1,eth2', '--istio-outbound-ports', '80', '-o', '81', '-c', 'nic0',
    '--probe-timeout', '1m30s', '--iptables-probe-port=0x10']);
  t.same(r.errors, []);
  const o = r.options;
  t.same([o.envoyPort, o.inboundCapturePort, o.inboundTunnelPort, o.proxyUid, o.proxyGid], ['1', '2', '3', '4', '5']);
  t.equal(o.dryRun, true);
  t.equal(o.redirectDns, true);
  t.equal(o.captureAllDns, false);
  t.equal(o.kubeVirtInterfaces, 'eth1,eth2');
  t.equal(o.outboundPorts, '80');
  t.equal(o.localOutboundPortsExclude, '81');
  t.equal(o.excludeInterfaces, 'nic0');
  t.equal(o.probeTimeoutMs, 90_000);
  t.equal(o.iptablesProbePort, 16);
});

t.test('the last occurrence wins; --cleanup is --cleanup-only', async (t) => {
  const r = parse(['-p', '1', '-p', '2', '--cleanup']);
  t.equal(r.options.envoyPort, '2');
  t.equal(r.options.cleanupOnly, true);
  t.equal(parse(['--cleanup-only']).options.cleanupOnly, true);
});

t.test('environment variables: own name, then alias, then the command line', async (t) => {
  const o = parse([], {
    INBOUND_CAPTURE_PORT: '16006', PROXY_UID: '7', ISTIO_INBOUND_INTERCEPTION_MODE: 'TPROXY',
    ISTIO_INBOUND_PORTS: '*', ISTIO_SERVICE_CIDR: '10.0.0.0/8', KUBE_VIRT_INTERFACES: 'eth9',
    ISTIO_INBOUND_TPROXY_MARK: '7', ISTIO_INBOUND_TPROXY_ROUTE_TABLE: '8', DRY_RUN: 'true',
    ISTIO_OUTBOUND_OWNER_GROUPS: 'java', ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: 'x',
    ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR: '127.0.0.1/8', ENVOY_USER: 'envoy',
  }).options;
  t.equal(o.inboundCapturePort, '16006');
  t.equal(o.proxyUid, '7');
  t.equal(o.interceptionMode, 'TPROXY');
  t.equal(o.inboundPorts, '*');
  t.equal(o.serviceCidr, '10.0.0.0/8');
  t.equal(o.kubeVirtInterfaces, 'eth9');
  t.equal(o.tproxyMark, '7');
  t.equal(o.tproxyRouteTable, '8');
  t.equal(o.dryRun, true);
  t.equal(o.ownerGroupsInclude, 'java');
  t.equal(o.ownerGroupsExclude, 'x');
  t.equal(o.hostIpv4LoopbackCidr, '127.0.0.1/8');
  t.equal(o.envoyUser, 'envoy');

  t.equal(parse([], { ENVOY_PORT: '1' }).options.envoyPort, '15001', '-p has no env variable in istio');
  t.equal(parse([], { ISTIO_META_DNS_CAPTURE: 'true' }).options.redirectDns, true, 'pilot-agent\'s alias');
  t.equal(parse([], { REDIRECT_DNS: 'true', ISTIO_META_DNS_CAPTURE: 'false' }).options.redirectDns, false, 'the alias is applied last');
  t.equal(parse([], { INVALID_DROP: '1' }).options.dropInvalid, true);
  t.equal(parse([], { ISTIO_DUAL_STACK: 'T' }).options.dualStack, true);
  t.equal(parse(['-z', '1'], { INBOUND_CAPTURE_PORT: '2' }).options.inboundCapturePort, '1', 'command line wins');
});

t.test('a bad boolean in the environment is ignored with a warning, as istio ignores it', async (t) => {
  const r = parse([], { REDIRECT_DNS: 'yes' });
  t.same(r.errors, []);
  t.equal(r.options.redirectDns, false);
  t.match(r.warnings[0], /ignoring REDIRECT_DNS="yes"/);
});

t.test('usage errors', async (t) => {
  t.same(parse(['--bogus']).errors, ['unknown flag: --bogus']);
  t.same(parse(['-y']).errors, ["unknown shorthand flag: 'y' in -y"]);
  t.same(parse(['-p']).errors, ["flag needs an argument: 'p' in -p"]);
  t.same(parse(['--envoy-port']).errors, ['flag needs an argument: --envoy-port']);
  t.same(parse(['--dry-run=maybe']).errors, ['invalid argument "maybe" for "--dry-run" flag: expected true or false']);
  t.same(parse(['--iptables-probe-port', '70000']).errors, ['invalid argument "70000" for "--iptables-probe-port" flag: expected 0-65535']);
  t.same(parse(['--probe-timeout', '5']).errors, ['invalid argument "5" for "--probe-timeout" flag: expected a duration like "5s"']);
  t.match(parse(['extra']).errors, [/^unexpected argument "extra": legate iptables takes flags only/]);
  t.match(parse(['--', 'extra']).errors, [/^unexpected argument "extra": /]);
  t.match(parse(['-b', 'README.md', 'bin', 'src']).errors, [/^unexpected argument "bin" \(and 1 more\): .*quote "\*" \(-b '\*', -i '\*'\) or the shell expands it/],
    'one line for a shell-expanded *');
});

t.test('help', async (t) => {
  t.equal(parse(['--help']).help, true);
  t.equal(parse(['-h']).help, true);
});

t.test('Go durations', async (t) => {
  t.equal(parseGoDuration('5s'), 5000);
  t.equal(parseGoDuration('300ms'), 300);
  t.equal(parseGoDuration('1h2m'), 3_720_000);
  t.equal(parseGoDuration('1.5s'), 1500);
  t.equal(parseGoDuration('0'), 0);
  t.equal(parseGoDuration('5'), undefined);
  t.equal(parseGoDuration('s'), undefined);
});
