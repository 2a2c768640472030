/**
 * `npm run bench:memory`: Legate's memory and start-up with a sidecar-sized static bootstrap
 * (issue #8 goals: RSS ≤ 60 MB idle with 100 services, ≤ 150 MB with 1,000 concurrent streams,
 * `/ready` within 300 ms of start).
 *
 *   npm run bench:memory -- [--base DIR] [--base-label TEXT] [--services 100] [--runs 5]
 *       [--settle-ms 3000] [--idle-ms 30000] [--streams-seconds 10] [--no-streams] [--no-append] [--node-arg FLAG ...] [--keep-extra-ca-certs]
 *
 * `--node-arg` adds a row: this build again with these node flags, e.g.
 * `--node-arg=--max-old-space-size=512`, the old generation Node configures by itself inside a
 * container with a 1 GiB memory limit (Istio's default sidecar limit): V8 takes a quarter of the
 * cgroup limit × 2 on 64-bit (Heap::HeapSizeFromPhysicalMemory), and with a smaller heap limit it
 * lets the old generation grow less before a full GC.
 *
 * For each build (this repository, and with `--base` another checkout of Legate built in DIR,
 * for before/after numbers in the same run), interleaved `--runs` times:
 *   1. write the bootstrap (bench/macro/sidecar-bootstrap.ts: N clusters, N virtual hosts on one
 *      HTTP listener, Istio's filter chain), spawn `node DIR/bin/legate -c it`;
 *   2. poll the admin `/ready` every 5 ms: time from spawn to the first 200;
 *   3. read VmRSS `--settle-ms` after /ready, and again `--idle-ms` after /ready: V8's memory
 *      reducer shrinks the heap only after ~10–20 s without allocation, so the second reading is
 *      the steady state of an idle sidecar;
 *   4. SIGUSR2 to the bench-only preload (memory-probe-preload.ts, which turns on `--expose-gc`
 *      only then: a V8 flag at start would change the V8 tag and hide Legate's code cache): two
 *      full GCs, then RSS, heap and the loaded modules (whether undici / grpc-js are among them).
 * Legate runs without NODE_EXTRA_CA_CERTS even if this shell has it (`--keep-extra-ca-certs` keeps
 * it): node reads and parses that file before any JavaScript runs (~100 ms and ~1.7 MiB on this
 * machine's CA bundle), a property of the environment that a sidecar container does not have.
 * Then, once per build, 1,000 concurrent streams: h2load `-c 10 -m 100` small unary gRPC calls
 * for `--streams-seconds` through the first service to the bench echo backend; peak RSS (VmHWM).
 * Medians go to stdout and, unless `--no-append`, to bench/RESULTS.md.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../../test/fakes/free-port';
import type { MemoryProbe } from '../../test/fakes/memory-probe-preload';
import { repoRoot } from '../../test/fakes/repo-root';
import { grpcFrame, helloRequest } from '../load/grpc-load';
import { startBackend } from './backend-process';
import { h2loadVersion, runH2load } from './h2load';
import { peakRssMiB } from './proc-stats';
import { serviceHost, sidecarBootstrap } from './sidecar-bootstrap';

const log = (line: string): void => {
  process.stderr.write(`[bench:memory] ${line}\n`);
};

interface Build {
  readonly label: string;
  readonly dir: string;
  /** node flags before the script (the `--node-arg` variant). */
  readonly nodeArgs: readonly string[];
}

type Probe = MemoryProbe;

interface IdleRun {
  readonly readyMs: number;
  readonly settledRssMiB: number;
  readonly idleRssMiB: number;
  readonly probe: Probe;
}

interface StreamsRun {
  readonly peakRssMiB: number;
  readonly callsPerS: number;
  readonly failed: number;
  readonly afterGc: Probe;
}

/** Legate processes still running, killed if the bench is interrupted. */
const live = new Set<ChildProcess>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of live) child.kill('SIGKILL');
    process.exit(130);
  });
}

/** The environment Legate runs in: this one, minus NODE_EXTRA_CA_CERTS unless kept (see the header). */
let legateEnv: NodeJS.ProcessEnv = process.env;

const PRELOAD = path.join(repoRoot(), 'dist', 'test', 'fakes', 'memory-probe-preload.js');

/** A running Legate with the bench preload; `probe()` asks the preload for a post-GC reading. */
class ProbedLegate {
  private constructor(
    readonly child: ChildProcess,
    readonly readyMs: number,
    private readonly probeFile: string,
    readonly stderr: string[],
  ) {}

  static async start(build: Build, configFile: string, adminPort: number, tmp: string): Promise<ProbedLegate> {
    const probeFile = path.join(tmp, `probe-${Date.now()}-${Math.random().toString(36).slice(2)}.jsonl`);
    const stderr: string[] = [];
    const started = performance.now();
    const child = spawn(process.execPath, [...build.nodeArgs, '-r', PRELOAD, path.join(build.dir, 'bin', 'legate'), '-c', configFile], {
      env: { ...legateEnv, LEGATE_MEMORY_PROBE_OUT: probeFile },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => stderr.push(c));
    const deadline = started + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${build.label}: legate exited ${child.exitCode}: ${stderr.join('')}`);
      if ((await readyStatus(adminPort)) === 200) break;
      if (performance.now() > deadline) throw new Error(`${build.label}: /ready not 200 within 30 s: ${stderr.join('')}`);
      await sleep(5);
    }
    return new ProbedLegate(child, performance.now() - started, probeFile, stderr);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async probe(): Promise<Probe> {
    const before = fs.existsSync(this.probeFile) ? fs.readFileSync(this.probeFile, 'utf8').split('\n').filter(Boolean).length : 0;
    this.child.kill('SIGUSR2');
    for (let i = 0; i < 500; i++) {
      await sleep(10);
      const lines = fs.existsSync(this.probeFile) ? fs.readFileSync(this.probeFile, 'utf8').split('\n').filter(Boolean) : [];
      if (lines.length > before) return JSON.parse(lines[lines.length - 1]!) as Probe;
    }
    throw new Error('the memory probe did not answer SIGUSR2');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

function readyStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/ready', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(1000, () => req.destroy());
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function vmRssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function writeConfig(tmp: string, services: number, backendPort: number): Promise<{ file: string; adminPort: number; listenerPort: number }> {
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const file = path.join(tmp, `sidecar-${adminPort}.json`);
  fs.writeFileSync(file, JSON.stringify(sidecarBootstrap({ services, adminPort, listenerPort, backendPort })));
  return { file, adminPort, listenerPort };
}

async function idleRun(build: Build, tmp: string, services: number, backendPort: number, settleMs: number, idleMs: number): Promise<IdleRun> {
  const cfg = await writeConfig(tmp, services, backendPort);
  const legate = await ProbedLegate.start(build, cfg.file, cfg.adminPort, tmp);
  try {
    await sleep(settleMs);
    const settledRssMiB = vmRssMiB(legate.pid);
    await sleep(Math.max(0, idleMs - settleMs));
    const idleRssMiB = vmRssMiB(legate.pid);
    const probe = await legate.probe();
    return { readyMs: legate.readyMs, settledRssMiB, idleRssMiB, probe };
  } finally {
    await legate.stop();
  }
}

async function streamsRun(build: Build, tmp: string, services: number, backendPort: number, seconds: number): Promise<StreamsRun> {
  const cfg = await writeConfig(tmp, services, backendPort);
  const legate = await ProbedLegate.start(build, cfg.file, cfg.adminPort, tmp);
  try {
    const bodyFile = path.join(tmp, 'hello-12.bin');
    fs.writeFileSync(bodyFile, grpcFrame(helloRequest(12)));
    const url = `http://127.0.0.1:${cfg.listenerPort}/helloworld.Greeter/SayHello`;
    const headers = [`:authority: ${serviceHost(0)}:8080`];
    await runH2load({ url, bodyFile, headers, requests: 2000, clients: 10, streams: 100 });
    const h2 = await runH2load({ url, bodyFile, headers, requests: 0, durationS: seconds, clients: 10, streams: 100 });
    const peak = peakRssMiB(legate.pid);
    const afterGc = await legate.probe();
    return { peakRssMiB: peak, callsPerS: h2.reqPerSec, failed: h2.failed + h2.errored + h2.non2xx, afterGc };
  } finally {
    await legate.stop();
  }
}

function commitOf(dir: string): string {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const f1 = (x: number): string => x.toFixed(1);

function codeCacheText(p: Probe): string {
  const c = p.codeCache;
  return c === undefined || c.file === undefined ? 'no code cache' : `code cache: ${c.used} modules (${c.rejected} rejected, ${c.stale} stale)`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      base: { type: 'string' },
      'base-label': { type: 'string' },
      services: { type: 'string', default: '100' },
      runs: { type: 'string', default: '3' },
      'settle-ms': { type: 'string', default: '3000' },
      'idle-ms': { type: 'string', default: '30000' },
      'streams-seconds': { type: 'string', default: '10' },
      'no-streams': { type: 'boolean', default: false },
      'no-append': { type: 'boolean', default: false },
      'node-arg': { type: 'string', multiple: true },
      'keep-extra-ca-certs': { type: 'boolean', default: false },
    },
  });
  if (!values['keep-extra-ca-certs'] && process.env['NODE_EXTRA_CA_CERTS'] !== undefined) {
    const { NODE_EXTRA_CA_CERTS: dropped, ...rest } = process.env;
    legateEnv = rest;
    log(`running Legate without NODE_EXTRA_CA_CERTS=${dropped} (--keep-extra-ca-certs keeps it)`);
  }
  const services = Number(values.services);
  const runs = Number(values.runs);
  const settleMs = Number(values['settle-ms']);
  const idleMs = Number(values['idle-ms']);
  const streamsSeconds = Number(values['streams-seconds']);
  const builds: Build[] = [];
  if (values.base !== undefined) builds.push({ label: values['base-label'] ?? `before (${commitOf(values.base)})`, dir: path.resolve(values.base), nodeArgs: [] });
  builds.push({ label: `this build (${commitOf(repoRoot())})`, dir: repoRoot(), nodeArgs: [] });
  const nodeArgs = values['node-arg'] ?? [];
  if (nodeArgs.length > 0) builds.push({ label: `this build, \`node ${nodeArgs.join(' ')}\``, dir: repoRoot(), nodeArgs });

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-bench-memory-'));
  const backend = await startBackend();
  live.add(backend.child);
  const idle = new Map<Build, IdleRun[]>(builds.map((b) => [b, []]));
  const streams = new Map<Build, StreamsRun>();
  try {
    for (let r = 0; r < runs; r++) {
      for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
        const run = await idleRun(b, tmp, services, backend.port, settleMs, idleMs);
        idle.get(b)!.push(run);
        log(`run ${r + 1}/${runs} ${b.label}: /ready ${run.readyMs.toFixed(0)} ms, RSS ${f1(run.settledRssMiB)} MiB after ${settleMs / 1000} s, ${f1(run.idleRssMiB)} MiB after ${idleMs / 1000} s, after GC ${f1(run.probe.rssMiB)} MiB, heap ${f1(run.probe.heapUsedMiB)} MiB, ${run.probe.modules} modules, ${codeCacheText(run.probe)}`);
      }
    }
    if (!values['no-streams']) {
      if (h2loadVersion() === undefined) log('h2load not installed: skipping the 1,000-stream phase');
      else {
        for (const b of builds) {
          const run = await streamsRun(b, tmp, services, backend.port, streamsSeconds);
          streams.set(b, run);
          log(`1,000 streams ${b.label}: peak RSS ${f1(run.peakRssMiB)} MiB, ${run.callsPerS.toFixed(0)} calls/s, ${run.failed} failed, after GC ${f1(run.afterGc.rssMiB)} MiB`);
        }
      }
    }
  } finally {
    backend.stop();
  }

  const rows = builds.map((b) => {
    const runsOf = idle.get(b)!;
    const ready = runsOf.map((x) => x.readyMs);
    const p = runsOf[runsOf.length - 1]!.probe;
    const s = streams.get(b);
    return `| ${b.label} | ${median(ready).toFixed(0)} (${Math.min(...ready).toFixed(0)}–${Math.max(...ready).toFixed(0)}) | ${f1(median(runsOf.map((x) => x.settledRssMiB)))} | ${f1(median(runsOf.map((x) => x.idleRssMiB)))} | ${f1(median(runsOf.map((x) => x.probe.rssMiB)))} | ${f1(median(runsOf.map((x) => x.probe.heapUsedMiB)))} / ${f1(median(runsOf.map((x) => x.probe.heapTotalMiB)))} | ${p.modules} | ${p.undici ? 'yes' : 'no'} / ${p.grpcJs ? 'yes' : 'no'} | ${s === undefined ? '—' : `${f1(s.peakRssMiB)} (${s.callsPerS.toFixed(0)} calls/s${s.failed > 0 ? `, ${s.failed} failed` : ''})`} |`;
  });
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const section = [
    '',
    `## Idle memory and start-up, ${services}-service static sidecar bootstrap (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
    '',
    `Machine: ${os.cpus().length} × ${cpu}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')} at the end (shared with other work: indicative only); Node ${process.version}.`,
    `\`npm run bench:memory\` (bench/macro/idle-and-startup.ts): ${runs} interleaved starts per build, median; RSS read ${settleMs / 1000} s and ${idleMs / 1000} s after /ready`,
    `(V8's memory reducer shrinks an idle heap after ~10–20 s); "after GC" = then two full GCs through the test-only preload.`,
    `Legate's environment: ${legateEnv === process.env ? 'as the shell\'s' : 'the shell\'s without NODE_EXTRA_CA_CERTS'}.`,
    `1,000 streams: h2load -c 10 -m 100, ${streamsSeconds} s of small unary calls, peak RSS (VmHWM).`,
    '',
    `| build | spawn → /ready 200, ms (min–max) | RSS ${settleMs / 1000} s after /ready, MiB | idle RSS ${idleMs / 1000} s after /ready, MiB | idle RSS after GC, MiB | heap used / total after GC, MiB | modules loaded | undici / grpc-js loaded | 1,000 streams: peak RSS, MiB |`,
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  if (!values['no-append']) {
    fs.appendFileSync(path.join(repoRoot(), 'bench', 'RESULTS.md'), section);
    log('appended to bench/RESULTS.md');
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
