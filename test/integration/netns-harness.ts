/**
 * Network namespaces for sidecar tests: "pods" on one bridge, processes started inside them
 * (optionally as the proxy's uid), one-shot peers (test/fakes/netns-peer.ts) and per-namespace
 * /etc/hosts (`ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { repoRoot } from '../fakes/repo-root';

export const PROXY_UID = 1337;

/** Why these tests cannot run here (a skip reason), or false. */
export function whyNetnsUnavailable(): string | false {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'needs root (creates network namespaces, programs iptables, runs Legate as uid 1337); CI runs it as root';
  for (const tool of ['ip', 'iptables', 'iptables-save', 'iptables-restore', 'setpriv']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool} || test -x /sbin/${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} not installed (Debian packages iptables, iproute2, util-linux)`;
    }
  }
  try {
    const probe = `lgt-probe-${randomBytes(3).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  } catch {
    return 'cannot create network namespaces here (ip netns add failed)';
  }
  try {
    for (const file of [path.join('node_modules', 'tap', 'package.json'), path.join('dist', 'src', 'native', 'original-dst.node')]) {
      execFileSync('setpriv', [`--reuid=${PROXY_UID}`, `--regid=${PROXY_UID}`, '--clear-groups', 'test', '-r', path.join(repoRoot(), file)], { stdio: 'ignore' });
    }
  } catch {
    return `uid ${PROXY_UID} cannot read this checkout (or the SO_ORIGINAL_DST addon is not built), so Legate cannot run as the proxy user here`;
  }
  return false;
}

export interface Run { code: number; stdout: string; stderr: string }

export function exec(file: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, [...args], { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export async function must(file: string, args: readonly string[]): Promise<string> {
  const r = await exec(file, args);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export const PEER = (): string => path.join(repoRoot(), 'dist', 'test', 'fakes', 'netns-peer.js');

export interface Network {
  /** The namespace name of a node. */
  ns(node: string): string;
  /** Gives a node's namespace its own /etc/hosts (for STRICT_DNS names). */
  hosts(node: string, entries: ReadonlyArray<readonly [ip: string, name: string]>): void;
}

/** A hub namespace with a bridge and one namespace per node, each with one veth on it (a /24). */
export async function makeNetwork(t: Test, nodes: Readonly<Record<string, string>>): Promise<Network> {
  const tag = randomBytes(3).toString('hex');
  const names: string[] = [];
  const ns = (name: string): string => `lgt-${name}-${tag}`;
  t.teardown(async () => {
    for (const n of names.reverse()) {
      await exec('ip', ['netns', 'del', n]);
      fs.rmSync(path.join('/etc/netns', n), { recursive: true, force: true });
    }
  });
  const hub = ns('hub');
  names.push(hub);
  await must('ip', ['netns', 'add', hub]);
  await must('ip', ['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
  await must('ip', ['-n', hub, 'link', 'set', 'br0', 'up']);
  for (const [i, [name, ip]] of Object.entries(nodes).entries()) {
    const n = ns(name);
    names.push(n);
    await must('ip', ['netns', 'add', n]);
    await must('ip', ['-n', hub, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n]);
    await must('ip', ['-n', hub, 'link', 'set', `v${i}`, 'master', 'br0', 'up']);
    await must('ip', ['-n', n, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    await must('ip', ['-n', n, 'link', 'set', 'eth0', 'up']);
    await must('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
  }
  const hosts = (node: string, entries: ReadonlyArray<readonly [string, string]>): void => {
    const dir = path.join('/etc/netns', ns(node));
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const lines = ['127.0.0.1 localhost', ...entries.map(([ip, name]) => `${ip} ${name}`)];
    fs.writeFileSync(path.join(dir, 'hosts'), `${lines.join('\n')}\n`, { mode: 0o644 });
  };
  return { ns, hosts };
}

/** Starts a long-running process in `ns`; resolves once its output matches `ready`. */
export function startIn(t: Test, ns: string, argv: readonly string[], ready: RegExp, asUid?: number): Promise<ChildProcess> {
  const user = asUid === undefined ? [] : ['setpriv', `--reuid=${asUid}`, `--regid=${asUid}`, '--clear-groups'];
  const child = spawn('ip', ['netns', 'exec', ns, ...user, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not get ready in ${ns}:\n${output}`)), 30_000);
    const onData = (c: Buffer): void => {
      output += c.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited (${code}) in ${ns}:\n${output}`));
    });
  });
}

/** Runs a one-shot netns-peer in `ns` and returns its JSON line. */
export async function peer<T>(ns: string, args: readonly string[]): Promise<T> {
  const r = await exec('ip', ['netns', 'exec', ns, process.execPath, PEER(), ...args]);
  if (r.code !== 0) throw new Error(`peer ${args.join(' ')} in ${ns} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

/** One counter out of admin /stats text; NaN when absent. */
export function statOf(statsText: string, name: string): number {
  return Number(new RegExp(`^${name.replace(/[.|[\]]/g, '\\$&')}: (\\d+)$`, 'm').exec(statsText)?.[1] ?? NaN);
}
