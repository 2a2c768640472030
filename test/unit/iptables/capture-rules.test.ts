/**
 * Rule sets the fixture goldens do not cover. The first two are istio's CNI goldens quoted in
 * ISTIO-TRIPLE.md §1.4/§1.5 (`istio/istio:cni/pkg/plugin/testdata/{basic,tproxy}.txt.golden`,
 * same capture code); the rest pin single behaviours of `capture/run.go`.
 */
import t from 'tap';
import { buildCaptureRules } from '../../../src/iptables/capture-rules';
import { parseIptablesArgs } from '../../../src/iptables/flags';
import type { HostFacts } from '../../../src/iptables/host-facts';
import { resolveCaptureConfig } from '../../../src/iptables/resolve-config';
import { buildRestore } from '../../../src/iptables/rule-set';

const FACTS: HostFacts = { localAddresses: () => ['10.1.2.5'], nameservers: () => ['10.96.0.10'], userUid: () => undefined };
const INJECTOR = ['-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15020,15021,15090'];

function restore(argv: string[], env: Record<string, string> = {}, facts: HostFacts = FACTS): string {
  const parsed = parseIptablesArgs(argv, env);
  if (parsed.errors.length) throw new Error(parsed.errors.join('; '));
  const r = resolveCaptureConfig(parsed.options, facts);
  if (!r.config) throw new Error(r.errors.join('; '));
  const rules = buildCaptureRules(r.config);
  return buildRestore(rules.v4) + buildRestore(rules.v6);
}

t.test('the typical sidecar (CNI basic golden: injector flags, -o 15020)', async (t) => {
  t.equal(restore([...INJECTOR, '-o', '15020']), `* nat
-N ISTIO_INBOUND
-N ISTIO_REDIRECT
-N ISTIO_IN_REDIRECT
-N ISTIO_OUTPUT
-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN
-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001
-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006
-A PREROUTING -p tcp -j ISTIO_INBOUND
-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN
-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN
-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN
-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT
-A OUTPUT -j ISTIO_OUTPUT
-A ISTIO_OUTPUT -p tcp --dport 15020 -j RETURN
-A ISTIO_OUTPUT -p udp --dport 15020 -j RETURN
-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
-A ISTIO_OUTPUT -j ISTIO_REDIRECT
COMMIT
`);
});

t.test('TPROXY with inbound exclusions (CNI tproxy golden, mangle part)', async (t) => {
  const text = restore([...INJECTOR.filter((a) => a !== 'REDIRECT' && a !== '-m'), '-m', 'TPROXY']);
  t.equal(text.slice(0, text.indexOf('* nat')), `* mangle
-N ISTIO_DIVERT
-N ISTIO_TPROXY
-N ISTIO_INBOUND
-A ISTIO_DIVERT -j MARK --set-mark 1337
-A ISTIO_DIVERT -j ACCEPT
-A ISTIO_TPROXY ! -d 127.0.0.1/32 -p tcp -j TPROXY --tproxy-mark 1337/0xffffffff --on-port 15006
-A PREROUTING -p tcp -j ISTIO_INBOUND
-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN
-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN
-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN
-A ISTIO_INBOUND -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT
-A ISTIO_INBOUND -p tcp -j ISTIO_TPROXY
-A PREROUTING -p tcp -m mark --mark 1337 -j CONNMARK --save-mark
-A OUTPUT -p tcp -o lo -m mark --mark 1337 -j RETURN
-A OUTPUT ! -d 127.0.0.1/32 -p tcp -o lo -m owner --uid-owner 1337 -j MARK --set-mark 1338
-A OUTPUT ! -d 127.0.0.1/32 -p tcp -o lo -m owner --gid-owner 1337 -j MARK --set-mark 1338
-A OUTPUT -p tcp -m connmark --mark 1337 -j CONNMARK --restore-mark
-I ISTIO_INBOUND 1 -p tcp -m mark --mark 1337 -j RETURN
-I ISTIO_INBOUND 2 -p tcp -s 127.0.0.6/32 -i lo -j RETURN
-I ISTIO_INBOUND 3 -p tcp -i lo -m mark ! --mark 1338 -j RETURN
COMMIT
`);
  t.notMatch(text.slice(text.indexOf('* nat')), /PREROUTING/, 'inbound moved to mangle');
});

t.test('TPROXY with a port list', async (t) => {
  const text = restore(['-m', 'TPROXY', '-b', '80']);
  t.match(text, /-A ISTIO_INBOUND -p tcp --dport 80 -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT\n-A ISTIO_INBOUND -p tcp --dport 80 -j ISTIO_TPROXY\n/);
});

t.test('owner groups: include list is one rule, exclude list one rule each', async (t) => {
  t.match(restore([], { ISTIO_OUTBOUND_OWNER_GROUPS: 'java,202' }),
    /-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN\n-A ISTIO_OUTPUT -m owner ! --gid-owner java -m owner ! --gid-owner 202 -j RETURN\n-A ISTIO_OUTPUT -d 127.0.0.1\/32 -j RETURN\n/);
  t.match(restore([], { ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: '888,ftp' }),
    /-A ISTIO_OUTPUT -m owner --gid-owner 888 -j RETURN\n-A ISTIO_OUTPUT -m owner --gid-owner ftp -j RETURN\n/);
});

t.test('--drop-invalid adds the mangle ISTIO_DROP chain', async (t) => {
  t.match(restore(['--drop-invalid']), /^\* mangle\n-N ISTIO_DROP\n-A PREROUTING -m conntrack --ctstate INVALID -j ISTIO_DROP\n-A ISTIO_DROP -j DROP\nCOMMIT\n/);
});

t.test('a loopback CIDR in -i keeps app-to-app loopback traffic captured', async (t) => {
  const text = restore(['-i', '127.1.2.3/32']);
  t.notMatch(text, /! --uid-owner/);
  t.match(text, /-A ISTIO_OUTPUT -d 127\.1\.2\.3\/32 -j ISTIO_REDIRECT\n/);
});

t.test('--capture-all-dns redirects every :53 and needs no resolv.conf', async (t) => {
  const text = restore(['--redirect-dns', '--capture-all-dns'], {}, { ...FACTS, nameservers: () => { throw new Error('unused'); } });
  t.match(text, /-A ISTIO_OUTPUT_DNS -p tcp --dport 53 -j REDIRECT --to-ports 15053\n-A ISTIO_OUTPUT_DNS -p udp --dport 53 -j REDIRECT --to-port 15053\n/);
  t.match(text, /-A PREROUTING -j ISTIO_INBOUND\n-A ISTIO_OUTPUT_DNS -p udp --dport 53 -j CT --zone 2\n-A ISTIO_INBOUND -p udp --sport 53 -j CT --zone 1\n/);
});

t.test('-k with CIDRs: one PREROUTING jump per interface and CIDR', async (t) => {
  t.match(restore(['-k', 'eth1', '-i', '10.0.0.0/8,2001:db8::/32']),
    /-I PREROUTING 1 -i eth1 -d 10\.0\.0\.0\/8 -j ISTIO_REDIRECT\n-A ISTIO_OUTPUT -d 10\.0\.0\.0\/8 -j ISTIO_REDIRECT\nCOMMIT\n$/);
});

t.test('IPv6 exclusions and inclusions go to ip6tables only, canonically spelled', async (t) => {
  const text = restore(['-i', '2001:DB8:0::/32', '-x', '10.0.0.0/8'], {}, { ...FACTS, localAddresses: () => ['fd00::1'] });
  const [v4, v6] = text.split(/(?=\* nat\n-N ISTIO_INBOUND\n-N ISTIO_REDIRECT\n-N ISTIO_IN_REDIRECT\n-N ISTIO_OUTPUT\n-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN\n-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001\n-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006\n-A OUTPUT -j ISTIO_OUTPUT\n-A ISTIO_OUTPUT -o lo -s ::6)/);
  t.match(v4, /-A ISTIO_OUTPUT -d 10\.0\.0\.0\/8 -j RETURN\nCOMMIT\n$/);
  t.match(v6, /-A ISTIO_OUTPUT -d ::1\/128 -j RETURN\n-A ISTIO_OUTPUT -d 2001:db8::\/32 -j ISTIO_REDIRECT\nCOMMIT\n$/);
});
