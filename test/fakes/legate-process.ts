/**
 * Running the real Legate binary as a child process, the way integration tests,
 * the demo and the benchmark need it: write a bootstrap, spawn, capture output,
 * wait for the admin `/ready` endpoint, stop with a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { repoRoot } from './repo-root';

export { freePort } from './free-port';

/** Options of {@link startLegate}. Exactly one of `configYaml` and `configPath` is required. */
export interface StartLegateOptions {
  /** Bootstrap text (YAML or JSON); written to a temp file with {@link writeTempConfig}. */
  readonly configYaml?: string;
  /** Path of an existing bootstrap file. */
  readonly configPath?: string;
  /** Extra command-line arguments, after `-c <config>`. */
  readonly args?: readonly string[];
  /** Flags for node itself, before the script (e.g. `--cpu-prof`, which NODE_OPTIONS does not allow). */
  readonly nodeArgs?: readonly string[];
  /** Extra environment variables (merged over this process's environment). */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Admin port to poll for readiness. Default: read from the bootstrap's
   * `admin.address.socket_address.port_value`. When there is none, the start
   * resolves as soon as the process has spawned.
   */
  readonly adminPort?: number;
  /** False: resolve once the process has spawned, without waiting for `/ready` (default true). */
  readonly waitForReady?: boolean;
  /** How long to wait for `/ready` to answer 200; default 30000 ms (start-up is ~1 s of CPU, but a loaded CI machine stretches it). */
  readonly readyTimeoutMs?: number;
  /** Script to run with node instead of `bin/legate` / `dist/src/main.js` (for testing this helper). */
  readonly entry?: string;
  /** Copy the child's output to this process's stdout/stderr as it comes (default: env `LEGATE_ECHO=1`). */
  readonly echo?: boolean;
}

/** Exit of the child: code, or the signal that ended it. */
export interface LegateExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running Legate process. */
export interface LegateProcess {
  /** The child's pid (the node process running Legate). */
  readonly pid: number;
  /** The raw child process. */
  readonly child: ChildProcess;
  /** The bootstrap file it was started with. */
  readonly configPath: string;
  /** Admin port polled for readiness, if any. */
  readonly adminPort: number | undefined;
  /** Lines written to stdout so far (access logs go here), without newlines. A live array. */
  readonly stdout: readonly string[];
  /** Lines written to stderr so far. A live array. */
  readonly stderr: readonly string[];
  /** Settles when the process exits. */
  readonly exited: Promise<LegateExit>;
  /** Resolve with the first stdout/stderr line (already seen or future) matching `pattern`; reject after `timeoutMs` (default 5000). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** GET `http://127.0.0.1:<adminPort><path>`; resolves with status and body text. */
  admin(pathAndQuery: string, method?: string): Promise<{ status: number; body: string }>;
  /** Send `signal` (default SIGTERM) and wait for the exit; SIGKILL after `timeoutMs` (default 10000). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<LegateExit>;
  /** SIGKILL now. */
  kill(): void;
}

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();
process.once('exit', () => {
  // A test that forgot stop() (or threw before it) must not leave a proxy behind.
  for (const child of liveChildren) child.kill('SIGKILL');
  for (const dir of tempDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort: a leftover temp dir is harmless.
    }
  }
});

/** Write `yamlText` to a fresh file under the OS temp dir (removed when this process exits); returns its path. */
export function writeTempConfig(yamlText: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-cfg-'));
  const file = path.join(dir, 'bootstrap.yaml');
  fs.writeFileSync(file, yamlText);
  tempDirs.add(dir);
  return file;
}

/** The admin port named in a bootstrap (`admin.address.socket_address.port_value`), if any. */
export function adminPortOf(configText: string): number | undefined {
  const doc = YAML.parse(configText) as { admin?: { address?: { socket_address?: { port_value?: unknown } } } } | null;
  const port = Number(doc?.admin?.address?.socket_address?.port_value);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/**
 * The command that runs Legate: `bin/legate` when it exists (through node when it
 * is a node script), else `node dist/src/main.js`.
 */
export function legateCommand(): { command: string; args: string[] } {
  const root = repoRoot();
  const bin = path.join(root, 'bin', 'legate');
  if (fs.existsSync(bin)) {
    const firstLine = fs.readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
    if (!firstLine.startsWith('#!') || firstLine.includes('node')) return { command: process.execPath, args: [bin] };
    return { command: bin, args: [] };
  }
  return { command: process.execPath, args: [path.join(root, 'dist', 'src', 'main.js')] };
}

/**
 * Spawn Legate with `-c <config>` and resolve once its admin `/ready` answers 200.
 * Rejects (and kills the child) if it exits first or `readyTimeoutMs` passes; the
 * error message includes the captured stderr.
 */
export async function startLegate(options: StartLegateOptions): Promise<LegateProcess> {
  if ((options.configYaml === undefined) === (options.configPath === undefined)) {
    throw new Error('startLegate: give exactly one of configYaml and configPath');
  }
  const configPath = options.configPath ?? writeTempConfig(options.configYaml as string);
  const adminPort = options.adminPort ?? adminPortOf(fs.readFileSync(configPath, 'utf8'));
  const plain = options.entry !== undefined ? { command: process.execPath, args: [options.entry] } : legateCommand();
  const base =
    options.nodeArgs !== undefined && options.nodeArgs.length > 0
      ? plain.command === process.execPath
        ? { command: plain.command, args: [...options.nodeArgs, ...plain.args] }
        : { command: process.execPath, args: [...options.nodeArgs, path.join(repoRoot(), 'dist', 'src', 'main.js')] }
      : plain;
  const echo = options.echo ?? process.env['LEGATE_ECHO'] === '1';

  const child = spawn(base.command, [...base.args, '-c', configPath, ...(options.args ?? [])], {
    cwd: repoRoot(),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  const stdout: string[] = [];
  const stderr: string[] = [];
  const lineWatchers = new Set<(line: string) => void>();
  const capture = (stream: NodeJS.ReadableStream, into: string[], mirror: NodeJS.WritableStream): void => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      if (echo) mirror.write(chunk);
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        into.push(line);
        for (const watch of lineWatchers) watch(line);
      }
    });
    stream.on('end', () => {
      if (partial !== '') {
        into.push(partial);
        for (const watch of lineWatchers) watch(partial);
      }
    });
  };
  capture(child.stdout!, stdout, process.stdout);
  capture(child.stderr!, stderr, process.stderr);

  let exit: LegateExit | undefined;
  const exited = new Promise<LegateExit>((resolve) => {
    child.once('error', (err) => {
      stderr.push(`spawn failed: ${err.message}`);
      exit ??= { code: -1, signal: null };
      resolve(exit);
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });

  const admin = (pathAndQuery: string, method = 'GET'): Promise<{ status: number; body: string }> => {
    if (adminPort === undefined) return Promise.reject(new Error('no admin port known'));
    return httpRequest(adminPort, pathAndQuery, method);
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10000): Promise<LegateExit> => {
    if (exit !== undefined) return exit;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };

  const handle: LegateProcess = {
    get pid() {
      return child.pid ?? -1;
    },
    child,
    configPath,
    adminPort,
    stdout,
    stderr,
    exited,
    waitForLine: (pattern, timeoutMs = 5000) =>
      new Promise<string>((resolve, reject) => {
        const seen = [...stdout, ...stderr].find((line) => pattern.test(line));
        if (seen !== undefined) return resolve(seen);
        const timer = setTimeout(() => {
          lineWatchers.delete(watch);
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms`));
        }, timeoutMs);
        const watch = (line: string): void => {
          if (!pattern.test(line)) return;
          clearTimeout(timer);
          lineWatchers.delete(watch);
          resolve(line);
        };
        lineWatchers.add(watch);
      }),
    admin,
    stop,
    kill: () => {
      if (exit === undefined) child.kill('SIGKILL');
    },
  };

  const describe = (why: string): Error =>
    new Error(
      `Legate did not become ready: ${why}\n` +
        `command: ${[base.command, ...base.args, '-c', configPath, ...(options.args ?? [])].join(' ')}\n` +
        `--- stderr (last 50 lines) ---\n${stderr.slice(-50).join('\n')}\n` +
        `--- stdout (last 20 lines) ---\n${stdout.slice(-20).join('\n')}`,
    );

  const timeoutMs = options.readyTimeoutMs ?? 30000;
  const deadline = Date.now() + timeoutMs;
  if (adminPort === undefined || options.waitForReady === false) {
    await new Promise<void>((resolve) => {
      child.once('spawn', () => resolve());
      void exited.then(() => resolve());
    });
    if (exit !== undefined) throw describe(`exited at once (code ${exit.code}, signal ${exit.signal})`);
    return handle;
  }
  for (;;) {
    if (exit !== undefined) throw describe(`exited with code ${exit.code}, signal ${exit.signal}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw describe(`/ready on 127.0.0.1:${adminPort} did not answer 200 within ${timeoutMs} ms`);
    }
    const status = await httpRequest(adminPort, '/ready', 'GET', 500).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return handle;
    await Promise.race([new Promise((r) => setTimeout(r, 50)), exited]);
  }
}

function httpRequest(port: number, pathAndQuery: string, method: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathAndQuery, method, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
