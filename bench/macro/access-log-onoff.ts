/**
 * End-to-end cost of access logging: the same h2load gRPC-unary run through Legate with no
 * access log and with Istio's default text format written to a file (the `envoy.access_loggers.file`
 * sink: buffered, flushed every `--file-flush-interval-msec`), side by side. Rounds alternate
 * which mode goes first; a fresh Legate per run. Reports req/s, Legate CPU µs per served call
 * (`/proc/<pid>/stat`), p50/p99 latency (h2load `--log-file`), lines logged, and on ÷ off ratios.
 *
 *   npx tsc -p . && node dist/bench/macro/access-log-onoff.js [--requests 10000] [--clients 10]
 *       [--streams 10] [--warmup 2000] [--rounds 2] [--no-append]
 *
 * Istio writes to /dev/stdout by default; a file is used here so the log is not billed to the
 * harness reading Legate's stdout. Short by default: the machine it runs on is shared.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../../test/fakes/free-port';
import { frameMessage } from '../../test/fakes/grpc-frame';
import { startLegate } from '../../test/fakes/legate-process';
import { messageCodec } from '../../test/fakes/proto-service';
import { repoRoot } from '../../test/fakes/repo-root';
import { ISTIO_TEXT_FORMAT } from '../common/istio-log-formats';
import { startBackend, type BackendProcess } from './backend-process';
import { benchBootstrap } from './bench-config';
import { h2loadVersion, runH2load } from './h2load';
import { cpuSeconds, procAvailable } from './proc-stats';

const GRPC_PATH = '/helloworld.Greeter/SayHello';
type Mode = 'off' | 'on';
const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

interface Run {
  readonly mode: Mode;
  readonly reqPerSec: number;
  readonly cpuUsPerCall: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly served: number;
  readonly errors: number;
  readonly lines: number;
}

interface Options {
  readonly requests: number;
  readonly clients: number;
  readonly streams: number;
  readonly warmup: number;
  readonly rounds: number;
  readonly append: boolean;
}

async function runOnce(mode: Mode, backend: BackendProcess, bodyFile: string, o: Options, tmp: string, round: number): Promise<Run> {
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const logPath = path.join(tmp, `access-${round}.log`);
  const legate = await startLegate({
    configYaml: benchBootstrap({ adminPort, listenerPort, backendPort: backend.port, ...(mode === 'on' ? { accessLog: { path: logPath, format: ISTIO_TEXT_FORMAT } } : {}) }),
    readyTimeoutMs: 20000,
  });
  try {
    const url = `http://127.0.0.1:${listenerPort}${GRPC_PATH}`;
    if (o.warmup > 0) await runH2load({ url, bodyFile, requests: o.warmup, clients: o.clients, streams: o.streams });
    const servedBefore = await backend.requests();
    const cpuBefore = cpuSeconds(legate.pid);
    const r = await runH2load({ url, bodyFile, requests: o.requests, clients: o.clients, streams: o.streams, logFile: path.join(tmp, `h2load-${mode}-${round}.tsv`) });
    const cpu = cpuSeconds(legate.pid) - cpuBefore;
    const served = (await backend.requests()) - servedBefore;
    log(`round ${round} log ${mode}: ${Math.round(r.reqPerSec)} req/s, ${((cpu * 1e6) / served).toFixed(1)} µs CPU/call, p50 ${r.latency?.p50Us} µs, p99 ${r.latency?.p99Us} µs`);
    await legate.stop('SIGTERM', 5000);
    const lines = mode === 'on' && fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8').split('\n').filter((l) => l !== '').length : 0;
    return {
      mode,
      reqPerSec: r.reqPerSec,
      cpuUsPerCall: served > 0 ? (cpu * 1e6) / served : NaN,
      p50Us: r.latency?.p50Us ?? NaN,
      p99Us: r.latency?.p99Us ?? NaN,
      served,
      errors: r.failed + r.errored + r.timeout + r.non2xx,
      lines,
    };
  } finally {
    await legate.stop('SIGTERM', 5000);
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const fmt = (x: number, d = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '10000' },
      clients: { type: 'string', default: '10' },
      streams: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2000' },
      rounds: { type: 'string', default: '2' },
      'no-append': { type: 'boolean', default: false },
    },
  });
  const o: Options = {
    requests: Number(values.requests), clients: Number(values.clients), streams: Number(values.streams),
    warmup: Number(values.warmup), rounds: Math.max(1, Number(values.rounds)), append: values['no-append'] !== true,
  };
  const h2load = h2loadVersion();
  if (h2load === undefined) {
    log('h2load is not installed (Debian: apt-get install nghttp2-client)');
    return 2;
  }
  if (!procAvailable()) log('no /proc: the CPU column will be wrong (Linux only)');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-logbench-'));
  const bodyFile = path.join(tmp, 'hello.bin');
  const hello = messageCodec<{ name: string }>('helloworld.proto', 'helloworld.HelloRequest');
  fs.writeFileSync(bodyFile, frameMessage(hello.encode({ name: 'x'.repeat(5) })));
  const backend = await startBackend();
  const load = os.loadavg()[0]!.toFixed(1);
  const started = Date.now();
  const runs: Run[] = [];
  try {
    for (let round = 1; round <= o.rounds; round++) {
      const order: Mode[] = round % 2 === 1 ? ['off', 'on'] : ['on', 'off'];
      for (const mode of order) runs.push(await runOnce(mode, backend, bodyFile, o, tmp, round));
    }
  } finally {
    backend.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const of = (m: Mode): Run[] => runs.filter((r) => r.mode === m);
  const med = (m: Mode, k: keyof Omit<Run, 'mode'>): number => median(of(m).map((r) => r[k]));
  const row = (m: Mode, label: string): string =>
    `| ${label} | ${fmt(med(m, 'reqPerSec'))} (${of(m).map((r) => fmt(r.reqPerSec)).join(' / ')}) | ${fmt(med(m, 'cpuUsPerCall'), 1)} (${of(m).map((r) => fmt(r.cpuUsPerCall, 1)).join(' / ')}) | ${fmt(med(m, 'p50Us'))} | ${fmt(med(m, 'p99Us'))} | ${of(m).map((r) => fmt(r.lines)).join(' / ')} | ${of(m).reduce((a, r) => a + r.errors, 0)} |`;
  const cpu = os.cpus();
  const section = [
    `## Access logging on vs off, end to end (${new Date().toISOString().slice(0, 10)}, ${cpu[0]?.model.trim() ?? 'CPU'} ×${cpu.length} (load ${load} at start), node ${process.version}, ${h2load})`,
    '',
    `\`bench/macro/access-log-onoff.ts\`: the \`npm run bench\` setup (h2-grpc-echo backend in its own process, static bootstrap, HTTP/2 upstream), gRPC unary \`${GRPC_PATH}\`, closed loop \`-n ${o.requests} -c ${o.clients} -m ${o.streams} -t 1\` after ${o.warmup} warm-up requests, a fresh Legate per run, ${o.rounds} round(s) alternating which mode goes first. **on** = \`envoy.access_loggers.file\` with Istio's default text format (\`%UPSTREAM_CLUSTER_RAW%\` form) to a file in /tmp; **off** = no access log. Cells: median (per round); CPU is Legate's user+system per call the backend served; "lines" = lines in the log file per run (warm-up included). Whole run ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    '',
    '| access log | req/s | Legate CPU µs/call | p50 µs | p99 µs | lines | errors |',
    '|---|---:|---:|---:|---:|---:|---:|',
    row('off', 'off'),
    row('on', 'on (Istio text, file)'),
    '',
    `On ÷ off: req/s ${(med('on', 'reqPerSec') / med('off', 'reqPerSec')).toFixed(2)}×, CPU/call ${(med('on', 'cpuUsPerCall') / med('off', 'cpuUsPerCall')).toFixed(2)}× (${med('on', 'cpuUsPerCall') - med('off', 'cpuUsPerCall') >= 0 ? '+' : ''}${fmt(med('on', 'cpuUsPerCall') - med('off', 'cpuUsPerCall'), 1)} µs), p50 ${(med('on', 'p50Us') / med('off', 'p50Us')).toFixed(2)}×, p99 ${(med('on', 'p99Us') / med('off', 'p99Us')).toFixed(2)}×. On a shared machine runs vary by 2–3×; differences smaller than that between rounds are noise.`,
    '',
  ].join('\n');
  process.stdout.write(`\n${section}\n`);
  if (o.append) fs.appendFileSync(path.join(repoRoot(), 'bench', 'RESULTS.md'), `\n${section}`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  },
);
