import t from 'tap';
import { parseIptablesArgs } from '../../../src/iptables/flags';
import type { HostFacts } from '../../../src/iptables/host-facts';
import { resolveCaptureConfig } from '../../../src/iptables/resolve-config';

const V4_POD: HostFacts = { localAddresses: () => ['127.0.0.1', '10.1.2.3'], nameservers: () => ['10.96.0.10'], userUid: () => undefined };

function resolve(argv: string[], env: Record<string, string> = {}, facts: HostFacts = V4_POD) {
  const parsed = parseIptablesArgs(argv, env);
  if (parsed.errors.length) throw new Error(parsed.errors.join('; '));
  return resolveCaptureConfig(parsed.options, facts);
}

t.test('the injector\'s flags resolve', async (t) => {
  const r = resolve(['-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020']);
  t.same(r.errors, []);
  const c = r.config!;
  t.same(c.inboundPorts, { kind: 'all', exclude: ['15090', '15021', '15020'] });
  t.equal(c.outboundRangesInclude.v4.wildcard, true);
  t.same(c.proxyUids, ['1337']);
  t.same(c.proxyGids, ['1337'], '-g defaults to -u');
  t.equal(c.interceptionMode, 'REDIRECT');
  t.equal(c.enableIpv6, false);
});

t.test('-u defaults to ENVOY_USER\'s uid, else 1337', async (t) => {
  const facts: HostFacts = { ...V4_POD, userUid: (name) => (name === 'istio-proxy' ? '1500' : name === 'envoy' ? '101' : undefined) };
  t.same(resolve([], {}, facts).config!.proxyUids, ['1500']);
  t.same(resolve([], { ENVOY_USER: 'envoy' }, facts).config!.proxyGids, ['101']);
  t.same(resolve([]).config!.proxyUids, ['1337']);
});

t.test('IPv6 follows the pod address', async (t) => {
  const facts = (addrs: string[]): HostFacts => ({ ...V4_POD, localAddresses: () => addrs });
  t.equal(resolve([], {}, facts(['::1', 'fe80::1', 'fd00::5'])).config!.enableIpv6, true);
  t.equal(resolve([], {}, facts(['10.0.0.1', 'fd00::5'])).config!.enableIpv6, false, 'the first address decides');
  t.equal(resolve(['--dual-stack'], {}, facts(['10.0.0.1', 'fd00::5'])).config!.enableIpv6, true);
  t.match(resolve([], {}, facts(['127.0.0.1', '::1'])).errors, [/no valid local IP address found/]);
  t.same(resolve(['--cleanup'], {}, facts(['127.0.0.1'])).errors, [], 'cleanup does not need to know');
});

t.test('DNS servers come from resolv.conf; none means no DNS capture', async (t) => {
  const facts = (ns: string[]): HostFacts => ({ ...V4_POD, nameservers: () => ns });
  const c = resolve(['--redirect-dns'], {}, facts(['10.96.0.10', 'fd00::a', 'bogus'])).config!;
  t.same(c.dnsServersV4, ['10.96.0.10']);
  t.same(c.dnsServersV6, ['fd00::a']);
  const off = resolve(['--redirect-dns'], {}, facts([]));
  t.equal(off.config!.redirectDns, false);
  t.match(off.warnings, [/DNS capture disabled/]);
  t.equal(resolve(['--redirect-dns', '--capture-all-dns'], {}, facts([])).config!.redirectDns, true);
  const unreadable: HostFacts = { ...V4_POD, nameservers: () => { throw new Error('ENOENT'); } };
  t.match(resolve(['--redirect-dns'], {}, unreadable).errors, [/failed to load \/etc\/resolv.conf: ENOENT/]);
});

t.test('bad values are rejected with the flag named', async (t) => {
  const errs = (argv: string[], env: Record<string, string> = {}) => resolve(argv, env).errors;
  t.match(errs(['-p', '0']), [/-p\/--envoy-port "0": expected a port number/]);
  t.match(errs(['-z', 'abc']), [/-z\/--inbound-capture-port "abc"/]);
  t.match(errs(['-e', '70000']), [/-e\/--inbound-tunnel-port "70000"/]);
  t.match(errs(['-m', 'tproxy']), [/-m\/--istio-inbound-interception-mode "tproxy": expected REDIRECT or TPROXY/]);
  t.match(errs(['-m', 'NONE']), [/expected REDIRECT or TPROXY/]);
  t.match(errs(['-t', '0x539']), [/-t\/--istio-inbound-tproxy-mark "0x539"/]);
  t.match(errs(['-r', 'main']), [/-r\/--istio-inbound-tproxy-route-table "main"/]);
  t.match(errs(['-b', '80,http']), [/-b\/--istio-inbound-ports: "http" is not a port/]);
  t.match(errs(['-b', '*', '-d', '15090, 15021']), [/-d\/--istio-local-exclude-ports: " 15021"/]);
  t.match(errs(['-q', '99999']), [/-q\/--istio-outbound-ports: "99999"/]);
  t.match(errs(['-o', '1-2']), [/-o\/--istio-local-outbound-ports-exclude: "1-2"/]);
  t.match(errs(['-i', '10.0.0.0']), [/-i\/--istio-service-cidr: .*no '\/'/]);
  t.match(errs(['-i', '10.0.0.0/33']), [/out of range/]);
  t.match(errs(['-i', '010.0.0.0/8']), [/unable to parse IP/]);
  t.match(errs(['-x', '*']), [/-x\/--istio-service-exclude-cidr: "\*" is not allowed/]);
  t.match(errs(['-u', '1337, 1338']), [/-u\/--proxy-uid: " 1338" contains white space/]);
  t.match(errs(['--force-iptables-binary', 'nf']), [/expected "legacy" or "nft"/]);
  t.match(errs(['--native-nftables']), [/--native-nftables: Legate programs iptables only/]);
  t.match(errs(['--run-validation']), [/--run-validation: not supported/]);
  t.match(errs([], { ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR: '10.0.0.1/32' }), [/expected valid IPv4 loopback/]);
  t.match(errs([], { ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR: '127.0.0.1/7' }), [/mask in range \[8, 32\]/]);
  const many = Array.from({ length: 65 }, (_, i) => String(i)).join(',');
  t.match(errs([], { ISTIO_OUTBOUND_OWNER_GROUPS: many }), [/cannot exceed 64, got 65/]);
  t.equal(resolve([]).config !== undefined, true);
});

t.test('port ranges and trailing commas are accepted, as iptables and istio accept them', async (t) => {
  const c = resolve(['-b', '*', '-d', '6000,7000,', '-q', '8000:8010']).config!;
  t.same(c.inboundPorts, { kind: 'all', exclude: ['6000', '7000'] });
  t.same(c.outboundPortsInclude, ['8000:8010']);
});
