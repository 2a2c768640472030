import t from 'tap';
import { runIptablesCommand, type IptablesCommandIo } from '../../../src/iptables/command';
import type { HostFacts } from '../../../src/iptables/host-facts';
import { FakeRunner, NFT_VERSION, type Answer, type Call } from './fake-runner';
import { goldenRestoreText } from './golden-helpers';

const V4: HostFacts = { localAddresses: () => ['10.1.2.5'], nameservers: () => ['127.0.0.53'], userUid: () => undefined };
const V6: HostFacts = { ...V4, localAddresses: () => ['fd00::5'] };

async function run(argv: string[], runner: FakeRunner, facts: HostFacts = V4, env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: Partial<IptablesCommandIo> = { env, facts, runner, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) };
  const code = await runIptablesCommand(argv, io);
  return { code, stdout, stderr };
}

/**
 * A namespace with nf_tables iptables whose saved state is `state[family]`; restore replaces it;
 * `-C` succeeds when `present` says so. Legacy binaries exist but hold no rules.
 */
function world(opts: { state?: Record<4 | 6, string>; present?: boolean; answer?: (c: Call) => Answer } = {}) {
  const state: Record<4 | 6, string> = opts.state ?? { 4: '', 6: '' };
  return new FakeRunner((c) => {
    const extra = opts.answer?.(c);
    if (extra) return extra;
    const family = c.file.startsWith('ip6') ? 6 : 4;
    if (c.file.endsWith('-legacy-save')) return { stdout: '' };
    if (c.file.endsWith('-save')) return { stdout: state[family] };
    if (c.file.endsWith('-restore')) { state[family] = c.stdin ?? ''; return {}; }
    if (c.args[0] === '--version') return { stdout: NFT_VERSION };
    if (c.args.includes('-C')) return { code: opts.present ? 0 : 1 };
    if (c.args.includes('-X')) state[family] = ''; // crude: deleting a chain of ours forgets them all
    return {};
  });
}

const restores = (r: FakeRunner) => r.calls.filter((c) => c.file.endsWith('-restore'));

t.test('a clean namespace: one iptables-restore --noflush with exactly the golden payload', async (t) => {
  const runner = world();
  const r = await run(['-b', '*'], runner);
  t.equal(r.code, 0, r.stderr);
  const [restore, ...more] = restores(runner);
  t.same(more, []);
  t.equal(restore?.file, 'iptables-nft-restore', 'nft preferred when legacy holds no rules');
  t.same(restore?.args, ['--noflush']);
  t.equal(restore?.stdin, goldenRestoreText('inbound-ports-wildcard'));
  t.match(r.stderr, /IPv4 \(iptables-nft\): rules applied/);
  t.notOk(runner.calls.some((c) => c.file === 'ip'), 'REDIRECT on IPv4 needs no ip commands');
});

t.test('applying twice changes nothing the second time', async (t) => {
  const state = { 4: '', 6: '' } as Record<4 | 6, string>;
  t.equal((await run(['-b', '*', '-i', '*'], world({ state }))).code, 0);
  const second = world({ state, present: true });
  const r = await run(['-b', '*', '-i', '*'], second);
  t.equal(r.code, 0, r.stderr);
  t.same(restores(second), []);
  t.notOk(second.calls.some((c) => c.args.includes('-D') || c.args.includes('-F')), 'nothing removed');
  t.match(r.stderr, /rules already in place, nothing changed/);
});

t.test('rules of ours that differ are removed, then the new ones restored', async (t) => {
  const state = { 4: '', 6: '' } as Record<4 | 6, string>;
  await run(['-b', '*'], world({ state }));
  const runner = world({ state });
  const r = await run(['-b', '80'], runner);
  t.equal(r.code, 0, r.stderr);
  const lines = runner.lines();
  const firstRemoval = lines.findIndex((l) => l.includes(' -D ') || l.includes(' -F '));
  const restoreAt = lines.findIndex((l) => l.startsWith('iptables-nft-restore'));
  t.ok(firstRemoval >= 0 && firstRemoval < restoreAt, 'removal before restore');
  t.ok(lines.includes('iptables-nft -t nat -D OUTPUT -j ISTIO_OUTPUT'));
  t.ok(lines.includes('iptables-nft -t nat -X ISTIO_INBOUND'));
  t.match(r.stderr, /earlier rules replaced/);
  t.match(restores(runner)[0]?.stdin ?? '', /--dport 80 -j ISTIO_IN_REDIRECT/);
});

t.test('legacy is used when it already holds rules; --force-iptables-binary picks the variant', async (t) => {
  const legacyRules = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n';
  const runner = world({ answer: (c) => (c.file === 'iptables-legacy-save' && c.args.length === 0 ? { stdout: legacyRules } : c.file === 'iptables-legacy' ? { stdout: 'iptables v1.8.9 (legacy)\n' } : undefined) });
  t.equal((await run([], runner)).code, 0);
  t.same(restores(runner).map((c) => [c.file, ...c.args]), [['iptables-legacy-restore', '--noflush', '--wait=30']]);

  const forced = world();
  t.equal((await run(['--force-iptables-binary', 'nft'], forced)).code, 0);
  t.notOk(forced.calls.some((c) => c.file.includes('legacy')));
});

t.test('iptables missing: a clear error', async (t) => {
  const r = await run([], new FakeRunner(() => ({ code: -1, notFound: true })));
  t.equal(r.code, 1);
  t.match(r.stderr, /error: iptables-save not found: install the iptables package/);
});

t.test('no privileges: a clear error', async (t) => {
  const r = await run([], new FakeRunner((c) => (c.file.endsWith('-save')
    ? { code: 4, stderr: 'iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n' }
    : { notFound: true, code: -1 })));
  t.equal(r.code, 1);
  t.match(r.stderr, /error: iptables-legacy-save: permission denied \(.*you must be root\)/);
  t.match(r.stderr, /legate iptables must run as root, or with CAP_NET_ADMIN and CAP_NET_RAW/);
});

t.test('an IPv6 pod needs ip6tables', async (t) => {
  const r = await run([], world({ answer: (c) => (c.file.startsWith('ip6tables') ? { code: -1, notFound: true } : undefined) }), V6);
  t.equal(r.code, 1);
  t.match(r.stderr, /ip6tables-save not found/);
});

t.test('IPv6 and TPROXY: both families restored, ::6 on lo, policy routing added once', async (t) => {
  const runner = world({ answer: (c) => (c.file === 'ip' && c.args[2] === 'show' ? { stdout: c.args[0] === '-6' ? '32765:\tfrom all fwmark 0x539 lookup 133\n' : '' } : undefined) });
  const r = await run(['-m', 'TPROXY', '-b', '*'], runner, V6);
  t.equal(r.code, 0, r.stderr);
  t.same(restores(runner).map((c) => c.file), ['iptables-nft-restore', 'ip6tables-nft-restore']);
  t.same(runner.lines().filter((l) => l.startsWith('ip ')), [
    'ip -6 addr replace ::6/128 dev lo',
    'ip -4 rule show fwmark 1337 lookup 133',
    'ip -4 rule add fwmark 1337 lookup 133',
    'ip -6 rule show fwmark 1337 lookup 133',
    'ip -4 route replace local 0.0.0.0/0 dev lo table 133',
    'ip -6 route replace local ::/0 dev lo table 133',
  ]);
});

t.test('--cleanup removes our rules, every leftover of ours, and the TPROXY routing', async (t) => {
  const state = { 4: '', 6: '' } as Record<4 | 6, string>;
  await run(['-m', 'TPROXY', '-b', '*', '-i', '*'], world({ state }));
  const runner = world({
    state,
    answer: (c) => {
      if (c.file === 'ip' && c.args[1] === 'rule' && c.args[2] === 'del') return { code: runner.calls.filter((x) => x.args[2] === 'del').length > 1 ? 2 : 0 };
      return undefined;
    },
  });
  const r = await run(['--cleanup', '-m', 'TPROXY', '-b', '*', '-i', '*'], runner);
  t.equal(r.code, 0, r.stderr);
  const lines = runner.lines();
  t.ok(lines.includes('iptables-nft -t mangle -D OUTPUT -p tcp -m connmark --mark 1337 -j CONNMARK --restore-mark'), 'non-jump rules in built-in chains undone');
  t.ok(lines.includes('iptables-nft -t nat -D OUTPUT -j ISTIO_OUTPUT'));
  t.ok(lines.includes('ip -4 route flush table 133'));
  t.ok(lines.includes('ip -6 route flush table 133'), 'IPv6 cleaned too when ip6tables works');
  t.same(restores(runner), []);
});

t.test('--cleanup reports what it could not remove', async (t) => {
  const stubborn = '*nat\n:ISTIO_OUTPUT - [0:0]\n-A OUTPUT -j ISTIO_OUTPUT\nCOMMIT\n';
  const r = await run(['--cleanup'], world({ state: { 4: stubborn, 6: '' }, answer: (c) => (c.args.includes('-X') ? { code: 1 } : undefined) }));
  t.equal(r.code, 1);
  t.match(r.stderr, /cleanup left rules or chains behind: iptables-nft: nat chain ISTIO_OUTPUT/);
});

t.test('--network-namespace runs every tool through nsenter', async (t) => {
  const runner = world({ answer: (c) => {
    if (c.file !== 'nsenter') return { code: -1, notFound: true };
    const [, , file, ...args] = c.args;
    if (file?.endsWith('-save')) return { stdout: '' };
    if (args[0] === '--version') return { stdout: NFT_VERSION };
    return {};
  } });
  const r = await run(['--network-namespace', '/var/run/netns/pod'], runner);
  t.equal(r.code, 0, r.stderr);
  t.ok(runner.calls.every((c) => c.file === 'nsenter' && c.args[0] === '--net=/var/run/netns/pod' && c.args[1] === '--'));
});

t.test('--dry-run and --skip-rule-apply run nothing', async (t) => {
  const runner = new FakeRunner(() => { throw new Error('must not run'); });
  const dry = await run(['--dry-run', '-m', 'TPROXY', '-b', '*'], runner);
  t.equal(dry.code, 0);
  t.equal(dry.stdout, goldenRestoreText('inbound-ports-wildcard-tproxy'));
  t.match(dry.stderr, /would also run: ip -4 rule add fwmark 1337 lookup 133/);
  const cleanup = await run(['--dry-run', '--cleanup'], runner);
  t.match(cleanup.stdout, /\niptables -t nat -D OUTPUT -j ISTIO_OUTPUT\n/);
  t.match(cleanup.stdout, /iptables -t nat -X ISTIO_INBOUND\n$/);
  const skip = await run(['--skip-rule-apply'], runner);
  t.equal(skip.code, 0);
  t.same(runner.calls, []);
});

t.test('usage errors and help', async (t) => {
  const runner = new FakeRunner(() => undefined);
  const bad = await run(['--nope'], runner);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /legate iptables: error: unknown flag: --nope\nrun "legate iptables --help" for usage/);
  const invalid = await run(['-m', 'NONE'], runner);
  t.equal(invalid.code, 1);
  t.match(invalid.stderr, /expected REDIRECT or TPROXY/);
  const help = await run(['--help'], runner);
  t.equal(help.code, 0);
  t.match(help.stdout, /-p, --envoy-port string\n.*\(default "15001"\)/);
  t.match(help.stdout, /--redirect-dns\n.*\[env REDIRECT_DNS, ISTIO_META_DNS_CAPTURE\]/);
  t.same(runner.calls, []);
});
