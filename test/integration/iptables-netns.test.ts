/**
 * `legate iptables` against the real kernel, inside network namespaces made by the test: the
 * rules land, applying twice changes nothing, different flags replace the rules, `--cleanup`
 * leaves nothing of ours, TPROXY's policy routing and IPv6 work, and a non-root run gets the
 * privilege error. Needs root, iptables and iproute2 (CI installs them); skipped otherwise.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import t, { type Test } from 'tap';
import { repoRoot } from '../fakes/repo-root';

const INJECTOR_FLAGS = ['-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020'];

function whyNotRunnable(): string | false {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'needs root (creates network namespaces and programs iptables); CI runs it as root';
  for (const tool of ['ip', 'iptables', 'iptables-save', 'iptables-restore', 'ip6tables-save']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool} || test -x /sbin/${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} not installed (Debian packages iptables, iproute2; .ci/run installs them)`;
    }
  }
  try {
    const probe = `legate-ipt-probe-${randomBytes(3).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  } catch {
    return 'cannot create network namespaces here (ip netns add failed)';
  }
  return false;
}

const skip = whyNotRunnable();

interface Run { code: number; stdout: string; stderr: string }

function exec(file: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, [...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A network namespace with lo up and one veth end carrying `address` (the "pod IP"). */
async function makeNamespace(t: Test, address: string): Promise<string> {
  const ns = `legate-ipt-${randomBytes(4).toString('hex')}`;
  await exec('ip', ['netns', 'add', ns]);
  t.teardown(() => exec('ip', ['netns', 'del', ns]).then(() => undefined));
  const sh = (cmd: string) => exec('ip', ['netns', 'exec', ns, 'sh', '-c', cmd]);
  const family = address.includes(':') ? '-6' : '-4';
  const setup = await sh(`ip link set lo up && ip link add v0 type veth peer name v1 && ip ${family} addr add ${address} dev v0 && ip link set v0 up && ip link set v1 up`);
  if (setup.code !== 0) throw new Error(`namespace setup failed: ${setup.stderr}`);
  return ns;
}

/** Runs `bin/legate iptables <args>` inside `ns`, optionally as another user. */
function legateIptables(ns: string, args: readonly string[], asUser?: number): Promise<Run> {
  const node = [process.execPath, path.join(repoRoot(), 'bin', 'legate'), 'iptables', ...args];
  const user = asUser === undefined ? [] : ['setpriv', `--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups'];
  return exec('ip', ['netns', 'exec', ns, ...user, ...node]);
}

/** iptables-save (or ip6tables-save) in `ns`, without the timestamped comment lines. */
async function saved(ns: string, family: 4 | 6 = 4): Promise<string> {
  const r = await exec('ip', ['netns', 'exec', ns, family === 4 ? 'iptables-save' : 'ip6tables-save']);
  return r.stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n');
}

const istioChains = (save: string) => [...save.matchAll(/^:(ISTIO_\w+)/gm)].map((m) => m[1]).sort();

t.test('REDIRECT with the injector\'s flags: apply, apply again, change, clean up', { skip }, async (t) => {
  const ns = await makeNamespace(t, '10.200.0.2/24');

  const first = await legateIptables(ns, INJECTOR_FLAGS);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stderr, /IPv4 \(\S+\): rules applied/);
  const afterFirst = await saved(ns);
  t.same(istioChains(afterFirst), ['ISTIO_INBOUND', 'ISTIO_IN_REDIRECT', 'ISTIO_OUTPUT', 'ISTIO_REDIRECT']);
  for (const rule of [
    '-A PREROUTING -p tcp -j ISTIO_INBOUND',
    '-A OUTPUT -j ISTIO_OUTPUT',
    '-A ISTIO_INBOUND -p tcp -m tcp --dport 15008 -j RETURN',
    '-A ISTIO_INBOUND -p tcp -m tcp --dport 15090 -j RETURN',
    '-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT',
    '-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006',
    '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
    '-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN',
    '-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN',
    '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
    '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
  ]) {
    t.ok(afterFirst.includes(`${rule}\n`), `iptables-save shows: ${rule}`);
  }

  const dry = await legateIptables(ns, [...INJECTOR_FLAGS, '--dry-run']);
  t.equal(dry.code, 0);
  const payloadRules = dry.stdout.split('\n').filter((l) => /^-[AI] ISTIO_/.test(l)).length;
  const savedRules = afterFirst.split('\n').filter((l) => l.startsWith('-A ISTIO_')).length;
  t.equal(savedRules, payloadRules, 'every rule of the dry-run payload is in place, once');

  const second = await legateIptables(ns, INJECTOR_FLAGS);
  t.equal(second.code, 0, second.stderr);
  t.match(second.stderr, /rules already in place, nothing changed/);
  t.equal(await saved(ns), afterFirst, 'applying twice leaves the tables exactly as they were');

  const changed = await legateIptables(ns, ['-i', '10.96.0.0/12', '-b', '50052']);
  t.equal(changed.code, 0, changed.stderr);
  t.match(changed.stderr, /earlier rules replaced/);
  const afterChange = await saved(ns);
  t.ok(afterChange.includes('-A ISTIO_INBOUND -p tcp -m tcp --dport 50052 -j ISTIO_IN_REDIRECT\n'));
  t.ok(afterChange.includes('-A ISTIO_OUTPUT -d 10.96.0.0/12 -j ISTIO_REDIRECT\n'));
  t.notOk(afterChange.includes('--dport 15090'), 'the old rules are gone');
  t.equal((afterChange.match(/-A OUTPUT -j ISTIO_OUTPUT/g) ?? []).length, 1, 'one jump, not two');

  const clean = await legateIptables(ns, ['--cleanup']);
  t.equal(clean.code, 0, clean.stderr);
  t.notMatch(await saved(ns), /ISTIO/, 'nothing of ours is left in iptables');
  t.notMatch(await saved(ns, 6), /ISTIO/, 'nor in ip6tables');

  const again = await legateIptables(ns, ['--cleanup']);
  t.equal(again.code, 0, 'cleaning a clean namespace is fine');
});

t.test('TPROXY on an IPv6 pod: both families, policy routing, ::6, clean up', { skip }, async (t) => {
  const ns = await makeNamespace(t, 'fd00:200::2/64');
  const flags = ['-m', 'TPROXY', '-b', '*', '-i', '*', '-d', '15090,15021,15020'];
  for (const round of [1, 2]) {
    const r = await legateIptables(ns, flags);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, round === 1 ? /IPv6 \(\S+\): rules applied/ : /IPv6 \(\S+\): rules already in place/);
  }
  const v6 = await saved(ns, 6);
  t.same(istioChains(v6), ['ISTIO_DIVERT', 'ISTIO_INBOUND', 'ISTIO_INBOUND', 'ISTIO_IN_REDIRECT', 'ISTIO_OUTPUT', 'ISTIO_REDIRECT', 'ISTIO_TPROXY'].sort());
  t.match(v6, /-A ISTIO_TPROXY ! -d ::1\/128 -p tcp -j TPROXY --on-port 15006/);
  t.match(await saved(ns, 4), /-A ISTIO_TPROXY ! -d 127\.0\.0\.1\/32 -p tcp -j TPROXY --on-port 15006/);
  const ipIn = (args: string) => exec('ip', ['netns', 'exec', ns, 'sh', '-c', args]).then((r) => r.stdout);
  t.equal((await ipIn('ip -4 rule show')).match(/fwmark 0x539 lookup 133/g)?.length, 1, 'one IPv4 rule after two runs');
  t.equal((await ipIn('ip -6 rule show')).match(/fwmark 0x539 lookup 133/g)?.length, 1, 'one IPv6 rule after two runs');
  t.match(await ipIn('ip -4 route show table 133'), /local default dev lo/);
  t.match(await ipIn('ip -6 route show table 133'), /local default dev lo/);
  t.match(await ipIn('ip -6 addr show dev lo'), /inet6 ::6\/128/);

  const clean = await legateIptables(ns, ['--cleanup']);
  t.equal(clean.code, 0, clean.stderr);
  t.notMatch(await saved(ns, 4), /ISTIO|CONNMARK|MARK --set/, 'IPv4: nothing of ours, TPROXY marks included, though --cleanup had no -m');
  t.notMatch(await saved(ns, 6), /ISTIO|CONNMARK|MARK --set/, 'IPv6 likewise');
  t.notMatch(await ipIn('ip -4 rule show; ip -6 rule show'), /fwmark 0x539/);
  t.equal((await ipIn('ip -4 route show table 133 2>/dev/null; ip -6 route show table 133 2>/dev/null')).trim(), '');
});

t.test('without privileges: a clear error, nothing changed', { skip }, async (t) => {
  // The unprivileged user must be able to reach the checkout (a clone under a 0700 temp dir is not).
  const readable = await exec('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', path.join(repoRoot(), 'node_modules', 'tap', 'package.json')]);
  if (readable.code !== 0) {
    t.comment('skipped: uid 65534 cannot read this checkout, so it cannot even start node here');
    return;
  }
  const ns = await makeNamespace(t, '10.200.0.3/24');
  const r = await legateIptables(ns, INJECTOR_FLAGS, 65534);
  t.equal(r.code, 1);
  t.match(r.stderr, /permission denied/);
  t.match(r.stderr, /must run as root, or with CAP_NET_ADMIN and CAP_NET_RAW/);
  t.notMatch(await saved(ns), /ISTIO/);
});

t.test('a namespace already using iptables-legacy gets legacy rules, not a second nft rule set', { skip }, async (t) => {
  const ns = await makeNamespace(t, '10.200.0.4/24');
  const pre = await exec('ip', ['netns', 'exec', ns, 'iptables-legacy', '-t', 'filter', '-A', 'INPUT', '-p', '255', '-j', 'RETURN']);
  if (pre.code !== 0) {
    t.comment(`skipped: iptables-legacy unusable here: ${pre.stderr.trim()}`);
    return;
  }
  const r = await legateIptables(ns, INJECTOR_FLAGS);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /IPv4 \(iptables-legacy\): rules applied/);
  const legacy = await exec('ip', ['netns', 'exec', ns, 'iptables-legacy-save']);
  t.match(legacy.stdout, /:ISTIO_OUTPUT/);
  const nft = await exec('ip', ['netns', 'exec', ns, 'iptables-nft-save']);
  t.notMatch(nft.stdout, /ISTIO/);
  const clean = await legateIptables(ns, ['--cleanup']);
  t.equal(clean.code, 0, clean.stderr);
  t.notMatch((await exec('ip', ['netns', 'exec', ns, 'iptables-legacy-save'])).stdout, /ISTIO/);
});
