/**
 * The paths the side-by-side benchmark compares, each in front of the same
 * backend: none (direct), Legate, HAProxy and nginx, with the configurations of
 * ../shared/reference/PERF-ANCHORS.md §6 (one worker each, no access log,
 * HTTP/2 cleartext on both sides).
 *
 * HAProxy and nginx come from the Debian packages; `ensureBaselineProxies`
 * installs them with apt-get when they are missing and we run as root.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../../test/fakes/free-port';
import { repoRoot } from '../../test/fakes/repo-root';
import { startLegate, type LegateProcess } from '../../test/fakes/legate-process';
import { benchBootstrap } from './bench-config';

/** The path names, in table order. */
export const PATH_NAMES = ['direct', 'legate', 'legate-c2', 'haproxy', 'nginx'] as const;
/**
 * `legate` runs one process (Legate's default, `--concurrency 1`); `legate-c2` runs
 * `--concurrency 2` (a primary and two worker processes sharing the listener).
 * `legate-base`: another Legate build (`--legate-baseline <dist/src/main.js>`) measured in
 * the same run, for before/after comparisons of a change.
 * `legate-node-h2`: this build with LEGATE_HTTP2_CORE=node (node:http2 instead of the
 * frame-level core), to measure one core against the other in one run.
 * `node-relay`: a bare Node TCP relay (bench/servers/tcp-relay.ts), the floor of any Node proxy:
 * what Node's socket I/O costs per call with nothing parsed.
 */
export type PathName = (typeof PATH_NAMES)[number] | 'legate-base' | 'legate-node-h2' | 'node-relay';

/** One running path. */
export interface RunningPath {
  readonly name: PathName;
  /** `host:port` the load goes to. */
  readonly target: string;
  /** Root pid of the proxy (its descendants count too); undefined for direct. */
  readonly pid: number | undefined;
  /** Version string for the report. */
  readonly version: string;
  /** Legate's stdout lines so far (a live array; e.g. `--trace-gc` output); Legate paths only. */
  readonly stdout?: readonly string[];
  stop(): Promise<void>;
}

/** Version line of a baseline proxy, or undefined when it is not installed. */
export function baselineVersion(name: 'haproxy' | 'nginx'): string | undefined {
  const probe = spawnSync(name, name === 'haproxy' ? ['-v'] : ['-v'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return undefined;
  const text = `${probe.stdout}${probe.stderr}`;
  const m = name === 'haproxy' ? /HAProxy version (\S+)/.exec(text) : /nginx version: (\S+)/.exec(text);
  return m?.[1] !== undefined ? (name === 'haproxy' ? `HAProxy ${m[1]}` : m[1]) : text.split('\n')[0]?.trim();
}

/**
 * Make sure haproxy and nginx are installed: install the missing Debian packages
 * when running as root with apt-get; otherwise say why a column will be skipped.
 * Returns the names that are usable.
 */
export function ensureBaselineProxies(wanted: readonly ('haproxy' | 'nginx')[], log: (line: string) => void): Set<'haproxy' | 'nginx'> {
  const missing = wanted.filter((name) => baselineVersion(name) === undefined);
  if (missing.length > 0) {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const hasApt = spawnSync('apt-get', ['--version']).status === 0;
    if (isRoot && hasApt) {
      log(`installing ${missing.join(', ')} (apt-get install -y ${missing.join(' ')})`);
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      let result = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
      if (result.status !== 0) {
        spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
        result = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
      }
      if (result.status !== 0) log(`apt-get install failed (exit ${result.status}); skipping ${missing.join(', ')}`);
    } else {
      log(`${missing.join(', ')} not installed and ${isRoot ? 'no apt-get' : 'not running as root'}: skipping ${missing.length > 1 ? 'those columns' : 'that column'} (install: apt-get install ${missing.join(' ')})`);
    }
  }
  return new Set(wanted.filter((name) => baselineVersion(name) !== undefined));
}

/** Resolve once `port` on 127.0.0.1 accepts a TCP connection; reject after `timeoutMs`. */
async function waitForPort(port: number, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = exited();
    if (why !== undefined) throw new Error(why);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Spawn a baseline proxy in the foreground, wait for its port, and give back a stop function. */
async function spawnBaseline(name: 'haproxy' | 'nginx', command: string, args: readonly string[], port: number, dir: string): Promise<RunningPath> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = `${name} exited (code ${code}, signal ${signal}): ${stderr.trim()}`));
  child.once('error', (err) => (exit = `${name} could not start: ${err.message}`));
  await waitForPort(port, 10_000, () => exit);
  return {
    name,
    target: `127.0.0.1:${port}`,
    pid: child.pid,
    version: baselineVersion(name) ?? name,
    stop: async () => {
      if (exit !== undefined) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** bench/servers/tcp-relay.ts as its own process; resolves once it listens. */
async function startNodeRelay(backendPort: number): Promise<RunningPath> {
  const script = path.join(repoRoot(), 'dist', 'bench', 'servers', 'tcp-relay.js');
  const child = spawn(process.execPath, [script, '--target-port', String(backendPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\n');
      if (end >= 0) resolve((JSON.parse(buffered.slice(0, end)) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`tcp-relay exited early (code ${code})`)));
  });
  return {
    name: 'node-relay',
    target: `127.0.0.1:${port}`,
    pid: child.pid,
    version: `Node TCP relay (bench/servers/tcp-relay.ts)`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

/** HAProxy 2.6, PERF-ANCHORS §6.2: HTX mode, h2c both sides, connections shared between clients. */
export function haproxyConfig(listenPort: number, backendPort: number): string {
  return `# Generated by bench/macro/proxies.ts
global
  nbthread 1
  maxconn 4000
  tune.h2.max-concurrent-streams 1000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe_grpc
  bind 127.0.0.1:${listenPort} proto h2
  default_backend be_grpc
backend be_grpc
  balance roundrobin
  http-reuse always
  server s1 127.0.0.1:${backendPort} proto h2
`;
}

/** nginx 1.22, PERF-ANCHORS §6.1: grpc_pass, keepalive upstream, keepalive_requests raised, http2 listener. */
export function nginxConfig(listenPort: number, backendPort: number, dir: string, asRoot: boolean): string {
  return `# Generated by bench/macro/proxies.ts
${asRoot ? 'user root;\n' : ''}worker_processes 1;
worker_rlimit_nofile 16384;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 0;
  client_body_buffer_size 128k;
  upstream grpc_backend {
    server 127.0.0.1:${backendPort};
    keepalive 1024;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:${listenPort} http2;
    http2_max_concurrent_streams 1000;
    keepalive_requests 1000000;
    location / {
      grpc_pass grpc://grpc_backend;
      grpc_read_timeout 60s;
      grpc_send_timeout 60s;
    }
  }
}
`;
}

/** Start one path in front of the backend on `backendPort`. `tmp` holds the generated configs. */
export async function startPath(
  name: PathName,
  backendPort: number,
  tmp: string,
  legateArgs: readonly string[],
  legateNodeArgs: readonly string[] = [],
  baselineEntry?: string,
): Promise<RunningPath> {
  switch (name) {
    case 'direct':
      return { name, target: `127.0.0.1:${backendPort}`, pid: undefined, version: 'bench echo backend', stop: async () => undefined };
    case 'legate-base':
    case 'legate-node-h2':
    case 'legate-c2':
    case 'legate': {
      const adminPort = await freePort();
      const listenerPort = await freePort();
      if (name === 'legate-base' && baselineEntry === undefined) throw new Error('legate-base needs --legate-baseline <path of another build\'s dist/src/main.js>');
      const legate: LegateProcess = await startLegate({
        ...(name === 'legate-base' ? { entry: baselineEntry } : {}),
        configYaml: benchBootstrap({ adminPort, listenerPort, backendPort }),
        args: name === 'legate-c2' ? [...legateArgs, '--concurrency', '2'] : legateArgs,
        nodeArgs: legateNodeArgs,
        readyTimeoutMs: 20_000,
        ...(name === 'legate-node-h2' ? { env: { LEGATE_HTTP2_CORE: 'node' } } : {}),
      });
      return {
        name,
        target: `127.0.0.1:${listenerPort}`,
        pid: legate.pid,
        stdout: legate.stdout,
        version: `${name === 'legate-base' ? `Legate baseline (${baselineEntry})` : name === 'legate-node-h2' ? 'Legate on node:http2 (LEGATE_HTTP2_CORE=node)' : 'Legate'}${name === 'legate-c2' ? ' --concurrency 2' : ''}${legateArgs.length > 0 ? ` ${legateArgs.join(' ')}` : ''}`,
        stop: async () => {
          await legate.stop('SIGTERM', 10_000);
        },
      };
    }
    case 'node-relay':
      return startNodeRelay(backendPort);
    case 'haproxy': {
      const port = await freePort();
      const dir = fs.mkdtempSync(path.join(tmp, 'haproxy-'));
      const file = path.join(dir, 'haproxy.cfg');
      fs.writeFileSync(file, haproxyConfig(port, backendPort));
      return spawnBaseline('haproxy', 'haproxy', ['-f', file, '-db'], port, dir);
    }
    case 'nginx': {
      const port = await freePort();
      const dir = fs.mkdtempSync(path.join(tmp, 'nginx-'));
      const file = path.join(dir, 'nginx.conf');
      const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
      fs.writeFileSync(file, nginxConfig(port, backendPort, dir, asRoot));
      return spawnBaseline('nginx', 'nginx', ['-p', dir, '-c', file, '-g', 'daemon off;'], port, dir);
    }
  }
}
