/**
 * `npm run bench`: the same gRPC load, in one run, direct to the backend and
 * through Legate, HAProxy and nginx (issue #8). See bench/RESULTS.md for the
 * method; each workload × path:
 *
 *   1. start the proxy (fresh, so its peak RSS belongs to this workload), one
 *      sanity call, idle RSS;
 *   2. warm-up with h2load;
 *   3. h2load closed loop (`-D`) → calls/s, proxy CPU per call served at max load;
 *   4. our generator (bench/load/grpc-load.ts, ghz JSON) closed loop → calls/s; then ghz's
 *      own closed loop, the same way, when ghz is installed (bench/macro/ghz.ts);
 *   5. our generator open loop at the workload's fixed rate → p50/p99/p99.9,
 *      proxy CPU per call at that rate; then h2load paced at the same rate on one
 *      connection, one call at a time (`-c 1 -m 1 --rps`) → p50/p99/p99.9 again, without
 *      a generator's garbage collector in the tail (see pacedLatency below for why so);
 *   6. peak RSS (VmHWM of the proxy's process tree), stop.
 *
 *   npm run bench -- [--quick] [--paths direct,legate,haproxy,nginx] [--workloads unary-small,...]
 *       [--duration 5] [--open-duration 5] [--warmup 10000] [--rate N] [--no-append]
 *       [--out-dir bench/results] [--legate-arg X ...] [--profile]
 *       [--legate-baseline other/dist/src/main.js] [--rounds 1] [--legate-node-arg --flag ...] [--pin]
 *       [--ghz /path/to/ghz]
 *
 * `--quick` (smoke test): 1 s phases, 300 warm-up calls, open loop at 200 calls/s.
 * `--warmup N`: h2load calls before measuring (a tenth as many for 100-message streams). 10,000
 * by default: with 2,000, V8 was still optimising Legate's request path during the fixed-rate
 * phase, which showed as CPU per call there (bench/NOTES.md, "CPU per call at a low rate").
 * `--profile`: Legate runs with `node --cpu-prof`; a self-time summary of each
 * profile is printed and stored in the JSON.
 * `--legate-baseline`: also measure another Legate build (path `legate-base`, e.g.
 * a copy of dist/ from before a change) in the same run, for before/after ratios.
 * Path `legate-node-h2` (opt-in with `--paths`): this build on node:http2
 * (LEGATE_HTTP2_CORE=node) instead of its frame-level HTTP/2 core. Path `node-relay` (opt-in): a
 * bare Node TCP relay, the floor of Node's socket I/O per call (bench/servers/tcp-relay.ts).
 * `--rounds N`: measure every workload × path N times, interleaved, and report
 * the median of each figure (errors are summed).
 * `--pin`: each proxy gets CPU 1 to itself and everything else runs on CPU 0, as a
 * sidecar has its own CPU in a pod; latency then shows the proxy, not the scheduler
 * sharing two cores among five processes.
 * `--ghz`: the ghz binary to run (default: `ghz` when it is on PATH; left out when it is not).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../test/fakes/repo-root';
import { helloRequest, grpcFrame } from '../load/grpc-load';
import { reportPercentile, runForGhzReport, type GhzReport } from '../load/ghz-report';
import { ghzVersion, runGhz } from './ghz';
import { startBackend, type BackendProcess } from './backend-process';
import { renderProfileSummary, summarizeCpuProfile, type ProfileSummary } from './cpu-profile-summary';
import { gitCommit, machine } from '../common/run-context';
import { h2loadVersion, runH2load } from './h2load';
import { cpuSeconds, peakRssMiB, pinProcessTree } from './proc-stats';
import { ensureBaselineProxies, PATH_NAMES, startPath, type PathName, type RunningPath } from './proxies';
import { renderSideBySide, type Cell } from './side-by-side-report';
import { renderBarChart } from './svg-chart';
import { selectWorkloads, type Workload } from './workloads';

const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

interface Options {
  readonly quick: boolean;
  readonly paths: PathName[];
  readonly workloads: Workload[];
  readonly durationS: number;
  readonly openDurationS: number;
  readonly warmup: number;
  readonly rate: number | undefined;
  readonly append: boolean;
  readonly outDir: string;
  readonly legateArgs: string[];
  readonly profile: boolean;
  readonly baselineEntry: string | undefined;
  readonly rounds: number;
  /** node/V8 flags for the `legate` path only (e.g. heap sizing), to compare against legate-base. */
  readonly legateNodeArgs: string[];
  /** Proxies on CPU 1; this harness, its load generators and the backend on CPU 0. */
  readonly pin: boolean;
  /** The ghz binary asked for with `--ghz`; undefined = `ghz` if it is on PATH. */
  readonly ghzBinary: string | undefined;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      paths: { type: 'string' },
      workloads: { type: 'string' },
      duration: { type: 'string' },
      'open-duration': { type: 'string' },
      warmup: { type: 'string' },
      rate: { type: 'string' },
      'no-append': { type: 'boolean', default: false },
      'out-dir': { type: 'string' },
      'legate-arg': { type: 'string', multiple: true, default: [] },
      profile: { type: 'boolean', default: false },
      'legate-baseline': { type: 'string' },
      rounds: { type: 'string' },
      'legate-node-arg': { type: 'string', multiple: true, default: [] },
      pin: { type: 'boolean', default: false },
      ghz: { type: 'string' },
    },
  });
  const quick = values.quick === true;
  const positive = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got "${text}"`);
    return n;
  };
  const baselineEntry = values['legate-baseline'] !== undefined ? path.resolve(values['legate-baseline']) : undefined;
  if (baselineEntry !== undefined && !fs.existsSync(baselineEntry)) throw new Error(`--legate-baseline ${baselineEntry}: no such file`);
  const known: readonly string[] = [...PATH_NAMES, 'legate-base', 'legate-node-h2', 'node-relay'];
  const paths = (values.paths ?? PATH_NAMES.join(',')).split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const p of paths) {
    if (!known.includes(p)) throw new Error(`unknown path "${p}" in --paths (known: ${known.join(', ')})`);
  }
  if (baselineEntry !== undefined && !paths.includes('legate-base')) paths.push('legate-base');
  return {
    quick,
    paths: (['direct', 'node-relay', 'legate-base', 'legate-node-h2', 'legate', 'legate-c2', 'haproxy', 'nginx'] as const).filter((p) => paths.includes(p)),
    workloads: selectWorkloads(values.workloads?.split(',').map((w) => w.trim()).filter((w) => w !== '')),
    durationS: positive('duration', values.duration, quick ? 1 : 5),
    openDurationS: positive('open-duration', values['open-duration'], quick ? 1 : 5),
    warmup: positive('warmup', values.warmup, quick ? 300 : 10_000),
    rate: values.rate !== undefined ? positive('rate', values.rate, 1000) : quick ? 200 : undefined,
    append: values['no-append'] !== true,
    outDir: path.resolve(values['out-dir'] ?? path.join(repoRoot(), 'bench', 'results')),
    legateArgs: values['legate-arg'] as string[],
    profile: values.profile === true,
    baselineEntry,
    rounds: Math.round(positive('rounds', values.rounds, 1)),
    legateNodeArgs: values['legate-node-arg'] as string[],
    pin: values.pin === true,
    // A bare name is looked up on PATH, as the shell would; a path is taken from here.
    ghzBinary: values.ghz === undefined ? undefined : values.ghz.includes('/') ? path.resolve(values.ghz) : values.ghz,
  };
}

// === context ===

function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] !== undefined ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

// === our generator, as a child process ===

interface GenRun {
  readonly target: string;
  readonly workload: Workload;
  readonly connections: number;
  readonly concurrency: number;
  /** Run this long, or (when 0) make `total` calls. */
  readonly durationS: number;
  readonly total?: number;
  readonly rps: number;
  readonly output: string;
  readonly name: string;
}

function runGenerator(run: GenRun): Promise<GhzReport> {
  const script = path.join(repoRoot(), 'dist', 'bench', 'load', 'grpc-load.js');
  const args = [
    script,
    '--target', run.target,
    '--call', 'helloworld.Greeter/SayHello',
    '--data-bytes', String(run.workload.nameBytes),
    '--connections', String(run.connections),
    '--concurrency', String(run.concurrency),
    ...(run.durationS > 0 ? ['--duration', `${Math.round(run.durationS * 1000)}ms`] : ['--total', String(run.total ?? 1)]),
    '--rps', String(run.rps),
    '--timeout', '30s',
    '--name', run.name,
    '-o', run.output,
    ...(run.workload.responseMessages > 1 ? ['--header', `bench-stream-messages:${run.workload.responseMessages}`] : []),
  ];
  return runForGhzReport(process.execPath, args, run.output, 'grpc-load');
}

/** Calls that did not end OK (ghz writes `null` for an empty distribution). */
const notOk = (report: GhzReport): number => report.count - ((report.statusCodeDistribution as Record<string, number> | null)?.['OK'] ?? 0);

// === one workload through one path ===

interface Measured {
  readonly cell: Cell;
  readonly reports: MeasuredReports;
}

/** The ghz-schema reports of one workload × path: our generator's loops, and ghz's own when it ran. */
interface MeasuredReports {
  readonly closed: GhzReport;
  readonly open: GhzReport;
  readonly ghz?: GhzReport;
}

async function measure(running: RunningPath, workload: Workload, backend: BackendProcess, options: Options, tmp: string, ghz: string | undefined): Promise<Measured> {
  const label = `${workload.id} · ${running.name}`;
  const bodyFile = path.join(tmp, `${workload.id}.bin`);
  if (!fs.existsSync(bodyFile)) fs.writeFileSync(bodyFile, grpcFrame(helloRequest(workload.nameBytes)));
  const url = `http://${running.target}/helloworld.Greeter/SayHello`;
  const headers = workload.responseMessages > 1 ? [`bench-stream-messages: ${workload.responseMessages}`] : [];
  const pid = running.pid;
  const cpu = (): number => (pid !== undefined ? cpuSeconds(pid) : 0);
  const idleRssMiB = pid !== undefined ? rssMiB(pid) : undefined;

  const sanity = await runGenerator({ target: running.target, workload, connections: 1, concurrency: 1, durationS: 0, total: 1, rps: 0, output: path.join(tmp, 'sanity.json'), name: 'sanity' });
  if (sanity.count < 1 || notOk(sanity) > 0) throw new Error(`${label}: sanity call failed: ${JSON.stringify(sanity.errorDistribution)}`);

  const warmupCalls = Math.max(1, Math.round(options.warmup / Math.max(1, workload.responseMessages / 10)));
  await runH2load({ url, bodyFile, headers, requests: warmupCalls, clients: workload.h2loadClients, streams: workload.h2loadStreams });

  // h2load closed loop: throughput and CPU per call at max load.
  let served = await backend.requests();
  let cpuBefore = cpu();
  const h2 = await runH2load({ url, bodyFile, headers, requests: 0, durationS: options.durationS, warmUpS: options.quick ? 0 : 1, clients: workload.h2loadClients, streams: workload.h2loadStreams });
  const cpuMax = cpu() - cpuBefore;
  const servedMax = (await backend.requests()) - served;
  const h2Errors = h2.failed + h2.errored + h2.timeout + h2.non2xx + Math.max(0, h2.succeeded - servedMax);
  log(`${label}: h2load ${Math.round(h2.reqPerSec)} calls/s, backend served ${servedMax}${pid !== undefined ? `, proxy CPU ${((cpuMax * 1e6) / Math.max(1, servedMax)).toFixed(1)} µs/call` : ''}${h2Errors > 0 ? `, ${h2Errors} errors (h2load: ${h2.failed} failed, ${h2.errored} errored, ${h2.timeout} timeout, ${h2.non2xx} non-2xx, ${h2.succeeded} succeeded vs ${servedMax} served)` : ''}`);

  // Our generator, closed loop.
  const closed = await runGenerator({
    target: running.target, workload, connections: workload.connections, concurrency: workload.concurrency,
    durationS: options.durationS, rps: 0, output: path.join(tmp, `${workload.id}-${running.name}-closed.json`), name: `${label} closed`,
  });
  log(`${label}: node gen ${Math.round(closed.rps)} calls/s (${closed.count} calls, ${notOk(closed)} not OK)`);

  // ghz, closed loop, the same connections and callers.
  const ghzClosed =
    ghz === undefined
      ? undefined
      : await runGhz({
          binary: ghz, target: running.target, nameBytes: workload.nameBytes, responseMessages: workload.responseMessages,
          connections: workload.connections, concurrency: workload.concurrency, durationS: options.durationS, rps: 0, dir: tmp, name: `${label} ghz`,
        });
  if (ghzClosed !== undefined) log(`${label}: ghz ${Math.round(ghzClosed.rps)} calls/s (${ghzClosed.count} calls, ${notOk(ghzClosed)} not OK)`);

  // Our generator, open loop at the fixed rate.
  const rate = options.rate ?? workload.openRate;
  served = await backend.requests();
  cpuBefore = cpu();
  const open = await runGenerator({
    target: running.target, workload, connections: workload.openConnections, concurrency: workload.openConnections,
    durationS: options.openDurationS, rps: rate, output: path.join(tmp, `${workload.id}-${running.name}-open.json`), name: `${label} open ${rate}/s`,
  });
  const cpuOpen = cpu() - cpuBefore;
  const servedOpen = (await backend.requests()) - served;
  const us = (p: number): number | undefined => {
    const ns = reportPercentile(open, p);
    return ns !== undefined ? ns / 1000 : undefined;
  };
  log(`${label}: open ${rate}/s → ${Math.round(open.rps)}/s, p50 ${us(50)?.toFixed(0)} µs, p99 ${us(99)?.toFixed(0)} µs, p99.9 ${us(99.9)?.toFixed(0)} µs`);

  // h2load at the same rate: latency without the node generator's own pauses.
  const logFile = path.join(tmp, `${workload.id}-${running.name}-rate.log`);
  const atRate = await runH2load({ url, bodyFile, headers, requests: 0, durationS: options.openDurationS, ...pacedLatency(rate), logFile });
  const h2Latency = atRate.latency;
  fs.rmSync(logFile, { force: true });
  const h2RateErrors = atRate.failed + atRate.errored + atRate.timeout + atRate.non2xx;
  log(`${label}: h2load ${rate}/s → ${Math.round(atRate.reqPerSec)}/s, p50 ${h2Latency?.p50Us.toFixed(0)} µs, p99 ${h2Latency?.p99Us.toFixed(0)} µs, p99.9 ${h2Latency?.p999Us.toFixed(0)} µs`);

  return {
    cell: {
      workload: workload.id,
      path: running.name,
      h2loadCallsPerS: h2.reqPerSec,
      genCallsPerS: closed.rps,
      ...(ghzClosed !== undefined ? { ghzCallsPerS: ghzClosed.rps } : {}),
      cpuUsPerCallMax: pid !== undefined && servedMax > 0 ? (cpuMax * 1e6) / servedMax : undefined,
      cpuUsPerCallAtRate: pid !== undefined && servedOpen > 0 ? (cpuOpen * 1e6) / servedOpen : undefined,
      openRate: rate,
      openAchieved: open.rps,
      p50Us: us(50),
      p99Us: us(99),
      p999Us: us(99.9),
      h2P50Us: h2Latency?.p50Us,
      h2P99Us: h2Latency?.p99Us,
      h2P999Us: h2Latency?.p999Us,
      idleRssMiB,
      peakRssMiB: pid !== undefined ? peakRssMiB(pid) : undefined,
      errors: h2Errors + notOk(closed) + notOk(open) + h2RateErrors + (ghzClosed !== undefined ? notOk(ghzClosed) : 0),
    },
    reports: { closed, open, ...(ghzClosed !== undefined ? { ghz: ghzClosed } : {}) },
  };
}

/**
 * How h2load sends the fixed-rate load the latency columns come from: one connection, one call
 * at a time, a call every 1/rate s. Each call is then timed alone, as Istio's latency benchmark
 * times fortio's paced calls, and the difference to the direct path is what the proxy adds.
 * Spreading the rate over several h2load clients measures h2load instead: every client's
 * `--rps` timer fires on the same tick, so calls arrive in bursts of one per client and queue
 * behind each other; and with `-m` above 1 a call waits for the next timer tick (direct to the
 * backend at 1,000 calls/s on this machine: p50 133 µs with `-c 1 -m 1`, 224 µs with `-m 2`,
 * 1,188 µs with `-m 10`; 1,550–1,666 µs with `-c 16 -m 1`). The price of one call at a time:
 * a call slower than the spacing delays the next one, which h2load times from when it is sent
 * (coordinated omission), so the tail is understated by up to the queueing it hides — equally
 * for every path.
 */
export function pacedLatency(rate: number): { clients: number; streams: number; ratePerClient: number } {
  return { clients: 1, streams: 1, ratePerClient: Math.max(1, Math.round(rate)) };
}

/** Median of each figure over rounds (errors summed); one round is returned as it is. */
export function medianCell(rounds: readonly Cell[]): Cell {
  if (rounds.length === 1) return rounds[0]!;
  const median = (f: (c: Cell) => number | undefined): number | undefined => {
    const v = rounds.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
    if (v.length === 0) return undefined;
    return v.length % 2 === 1 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const first = rounds[0]!;
  const ghzCallsPerS = median((c) => c.ghzCallsPerS);
  return {
    workload: first.workload,
    path: first.path,
    h2loadCallsPerS: median((c) => c.h2loadCallsPerS) ?? NaN,
    genCallsPerS: median((c) => c.genCallsPerS) ?? NaN,
    ...(ghzCallsPerS !== undefined ? { ghzCallsPerS } : {}),
    cpuUsPerCallMax: median((c) => c.cpuUsPerCallMax),
    cpuUsPerCallAtRate: median((c) => c.cpuUsPerCallAtRate),
    openRate: first.openRate,
    openAchieved: median((c) => c.openAchieved) ?? NaN,
    p50Us: median((c) => c.p50Us),
    p99Us: median((c) => c.p99Us),
    p999Us: median((c) => c.p999Us),
    h2P50Us: median((c) => c.h2P50Us),
    h2P99Us: median((c) => c.h2P99Us),
    h2P999Us: median((c) => c.h2P999Us),
    idleRssMiB: median((c) => c.idleRssMiB),
    peakRssMiB: median((c) => c.peakRssMiB),
    errors: rounds.reduce((a, c) => a + c.errors, 0),
  };
}

// === main ===

export interface SideBySideOutput {
  readonly info: Record<string, unknown>;
  readonly cells: readonly Cell[];
  readonly reports: Record<string, Record<string, MeasuredReports>>;
  readonly profiles: readonly ProfileSummary[];
}

async function main(): Promise<number> {
  let options = parseOptions(process.argv.slice(2));
  const h2load = h2loadVersion();
  if (h2load === undefined) {
    log('h2load is not installed (Debian/Ubuntu: apt-get install nghttp2-client; macOS: brew install nghttp2)');
    return 2;
  }
  if (!fs.existsSync(path.join(repoRoot(), 'dist', 'src', 'main.js'))) {
    log('Legate is not built (dist/src/main.js missing): run `npm run build`.');
    return 2;
  }
  const skipped: string[] = [];
  const baselines = options.paths.filter((p): p is 'haproxy' | 'nginx' => p === 'haproxy' || p === 'nginx');
  const usable = ensureBaselineProxies(baselines, log);
  for (const b of baselines) if (!usable.has(b)) skipped.push(`${b} (not installed; needs root to apt-get install it)`);
  const paths = options.paths.filter((p) => (p === 'haproxy' || p === 'nginx' ? usable.has(p) : true));
  const ghzBinary = options.ghzBinary ?? 'ghz';
  const ghz = ghzVersion(ghzBinary);
  if (ghz === undefined && options.ghzBinary !== undefined) {
    log(`--ghz ${options.ghzBinary}: does not run (\`${options.ghzBinary} -v\` failed)`);
    return 2;
  }
  if (ghz === undefined) skipped.push('ghz (not installed: https://ghz.sh has release binaries; the calls/s (ghz) column is left out)');

  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/\.\d+Z$/, 'Z');
  const loadBefore = os.loadavg();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-side-by-side-'));
  const profileDir = path.join(tmp, 'profiles');
  // --pin: what a sidecar has in a pod, a CPU of its own: the proxy on CPU 1; this harness (and so
  // the generators and the backend it starts, which inherit its affinity) on CPU 0.
  if (options.pin && !pinProcessTree(process.pid, 0)) {
    log('--pin: taskset failed; running unpinned');
    options = { ...options, pin: false };
  }
  const backend = await startBackend();
  let current: RunningPath | undefined;
  const cleanup = async (): Promise<void> => {
    if (current !== undefined) await current.stop().catch(() => undefined);
    backend.stop();
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

  const cells: Cell[] = [];
  const reports: SideBySideOutput['reports'] = {};
  const versions = new Map<string, string>();
  const profiles: ProfileSummary[] = [];
  const wallStart = Date.now();
  try {
    for (const workload of options.workloads) {
      const rounds = new Map<PathName, Cell[]>();
      for (let round = 1; round <= options.rounds; round++) for (const name of paths) {
        if (options.rounds > 1) log(`${workload.id}: round ${round} of ${options.rounds}, ${name}`);
        // node refuses --cpu-prof in NODE_OPTIONS: it goes on node's command line.
        const nodeArgs =
          name !== 'legate' ? [] : [...options.legateNodeArgs, ...(options.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, workload.id)}`] : [])];
        current = await startPath(name, backend.port, tmp, options.legateArgs, nodeArgs, options.baselineEntry);
        if (options.pin && current.pid !== undefined) pinProcessTree(current.pid, 1);
        versions.set(name, current.version);
        try {
          const measured = await measure(current, workload, backend, options, tmp, ghz !== undefined ? ghzBinary : undefined);
          rounds.set(name, [...(rounds.get(name) ?? []), measured.cell]);
          (reports[workload.id] ??= {})[name] = measured.reports;
        } catch (err) {
          log(`${workload.id} · ${name}: FAILED: ${(err as Error).message}`);
          skipped.push(`${name} on ${workload.id} (failed: ${(err as Error).message.split('\n')[0]})`);
        } finally {
          await current.stop();
          current = undefined;
        }
        if (options.profile && name === 'legate') {
          const dir = path.join(profileDir, workload.id);
          for (const file of fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : []) {
            const kept = path.join(os.tmpdir(), `legate-bench-${workload.id}-${profiles.length}.cpuprofile`);
            fs.copyFileSync(path.join(dir, file), kept);
            const summary = summarizeCpuProfile(kept, 25, /\/src\/http\/proxy-stream/);
            profiles.push(summary);
            process.stdout.write(`\n#### CPU profile: ${workload.id}\n\n${renderProfileSummary(summary)}`);
          }
        }
      }
      for (const name of paths) {
        const measured = rounds.get(name);
        if (measured !== undefined) cells.push(medianCell(measured));
      }
    }
  } finally {
    await cleanup();
  }
  const loadAfter = os.loadavg();
  const wallS = (Date.now() - wallStart) / 1000;
  log(`measured in ${wallS.toFixed(0)} s`);

  fs.mkdirSync(options.outDir, { recursive: true });
  const fileStem = stamp.replace(/:/g, '-');
  const svgPath = path.join(options.outDir, `${fileStem}.svg`);
  const ran = paths.filter((p) => cells.some((c) => c.path === p));
  const value = (w: Workload, p: string, f: (c: Cell) => number | undefined): number | undefined => {
    const c = cells.find((x) => x.workload === w.id && x.path === p);
    return c !== undefined ? f(c) : undefined;
  };
  fs.writeFileSync(
    svgPath,
    renderBarChart({
      title: `Legate side by side, ${stamp} (commit ${gitCommit()})`,
      groups: options.workloads.map((w) => w.id),
      series: ran,
      panels: [
        { title: 'calls/s, h2load closed loop (higher is better)', values: options.workloads.map((w) => ran.map((p) => value(w, p, (c) => c.h2loadCallsPerS))) },
        { title: 'proxy CPU µs per call at max load (lower is better)', values: options.workloads.map((w) => ran.map((p) => value(w, p, (c) => c.cpuUsPerCallMax))) },
        { title: 'p99 µs at the fixed rate (lower is better)', values: options.workloads.map((w) => ran.map((p) => value(w, p, (c) => c.p99Us))) },
      ],
    }),
  );
  const resultsMd = path.join(repoRoot(), 'bench', 'RESULTS.md');
  const chartLink = path.relative(path.dirname(resultsMd), svgPath);
  const rates = [...new Set(options.workloads.map((w) => options.rate ?? w.openRate))].join('/');
  const section = renderSideBySide(
    {
      date: stamp,
      machine: machine(),
      load: `load average ${loadBefore[0]!.toFixed(1)} at start, ${loadAfter[0]!.toFixed(1)} at end (shared machine; other work was running)`,
      commit: gitCommit(),
      versions: [`node ${process.version}`, h2load, ...(ghz !== undefined ? [ghz] : []), ...ran.filter((p) => p !== 'direct').map((p) => versions.get(p) ?? p)].join(' · '),
      settings:
        `${options.quick ? '**Quick mode (smoke test; numbers not meaningful).** ' : ''}` +
        `Each workload × path: fresh proxy, ${options.warmup} warm-up calls (h2load), h2load closed loop \`-D ${options.durationS}s\`${options.quick ? '' : ' (+1 s warm-up)'} \`-t 1\`, ` +
        `node generator closed loop ${options.durationS} s, ${ghz !== undefined ? `ghz closed loop ${options.durationS} s (same connections and callers), ` : ''}node generator open loop ${options.openDurationS} s at ${rates} calls/s (latencies from call issue to stream close, OK calls, nearest rank), then h2load paced at the same rate for ${options.openDurationS} s, one connection, one call at a time (\`-c 1 -m 1 --rps\`; its log's 2xx latencies, nearest rank). ` +
        'CPU = user+system of the proxy process tree from /proc (nginx master+worker; HAProxy and Legate one process; legate-c2 a primary and two worker processes) ÷ calls the backend served in that phase. ' +
        (ran.includes('node-relay') ? 'node-relay is a bare Node TCP relay (bytes copied between each client connection and one upstream connection of its own, nothing parsed): the floor of any Node proxy. ' : '') +
        'One worker per proxy except legate-c2 (`--concurrency 2`); HAProxy `proto h2` both sides, `http-reuse always`; nginx `grpc_pass` with upstream keepalive, `keepalive_requests 1000000`, `http2` listener. ' +
        (options.legateNodeArgs.length > 0 ? `Path legate runs with node flags \`${options.legateNodeArgs.join(' ')}\`. ` : '') +
        (options.baselineEntry !== undefined ? `Path legate-base is the Legate build at \`${options.baselineEntry}\`. ` : '') +
        (options.rounds > 1 ? `${options.rounds} rounds, paths interleaved within each round; cells are medians over rounds, errors summed. ` : '') +
        (options.pin ? '**Pinned** (`--pin`): each proxy on CPU 1; the harness, load generators and backend on CPU 0. ' : '') +
        `Whole run ${wallS.toFixed(0)} s.`,
      chart: chartLink,
      skipped,
    },
    options.workloads,
    cells,
  );
  const output: SideBySideOutput = {
    info: { date: stamp, machine: machine(), commit: gitCommit(), loadBefore, loadAfter, options, skipped, versions: Object.fromEntries(versions), ghz: ghz ?? null },
    cells,
    reports,
    profiles,
  };
  const jsonPath = path.join(options.outDir, `${fileStem}.json`);
  fs.writeFileSync(jsonPath, JSON.stringify(output, null, 1) + '\n');
  process.stdout.write(`\n${section}\n`);
  log(`wrote ${svgPath} and ${jsonPath}`);
  if (options.append) {
    fs.appendFileSync(resultsMd, `\n${section}`);
    log('appended to bench/RESULTS.md');
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  return cells.length > 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      log(`failed: ${(err as Error).stack ?? String(err)}`);
      process.exitCode = 1;
    },
  );
}
