/**
 * Running h2load (nghttp2) for gRPC unary load and reading its results.
 *
 * h2load counts HTTP status only: a 200 carrying `grpc-status: 14` is a success
 * to it, so callers must cross-check with the backend's own request counter.
 * It prints no percentiles; they come from its `--log-file` (columns: start time
 * µs since epoch, HTTP status or -1 for a failed stream, µs until the response
 * ended).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** One h2load invocation. */
export interface H2loadRun {
  /** Full URL, e.g. `http://127.0.0.1:8080/helloworld.Greeter/SayHello`. */
  readonly url: string;
  /** File with the request body (`-d`). */
  readonly bodyFile: string;
  /** `-n` total requests (ignored when `durationS` is given). */
  readonly requests: number;
  /** `-D` main duration in seconds (timing-based run) instead of `-n`. */
  readonly durationS?: number;
  /** `--warm-up-time` in seconds, with `durationS`. */
  readonly warmUpS?: number;
  /** `-c` connections. */
  readonly clients: number;
  /** `-m` max concurrent streams per connection. */
  readonly streams: number;
  /** `--rps` per client (open loop); omit for closed loop. */
  readonly ratePerClient?: number;
  /** `--log-file` path for per-request timings. */
  readonly logFile?: string;
  /** Extra request headers (`-H`), on top of content-type and te. */
  readonly headers?: readonly string[];
}

/** What one run achieved. */
export interface H2loadResult {
  readonly reqPerSec: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly errored: number;
  readonly timeout: number;
  /** Non-2xx/3xx responses ("status codes" line). */
  readonly non2xx: number;
  /** Latency stats from the log file (µs), when one was written. */
  readonly latency: LatencyStats | undefined;
  /** h2load's stdout, for the record. */
  readonly output: string;
}

/** Latency distribution in microseconds, of successful requests only. */
export interface LatencyStats {
  readonly count: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
}

/** h2load's version string (`h2load nghttp2/1.52.0`), or undefined when it is not installed. */
export function h2loadVersion(): string | undefined {
  const probe = spawnSync('h2load', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return undefined;
  return probe.stdout.trim();
}

/** Run h2load once; rejects when it cannot start or exits non-zero. */
export function runH2load(run: H2loadRun): Promise<H2loadResult> {
  const args = [
    ...(run.durationS !== undefined
      ? ['-D', `${Math.round(run.durationS * 1000)}ms`, ...(run.warmUpS !== undefined && run.warmUpS > 0 ? ['--warm-up-time', `${Math.round(run.warmUpS * 1000)}ms`] : [])]
      : ['-n', String(run.requests)]),
    '-c', String(run.clients),
    '-m', String(run.streams),
    '-t', '1',
    '-d', run.bodyFile,
    '-H', 'content-type: application/grpc',
    '-H', 'te: trailers',
    ...(run.headers ?? []).flatMap((h) => ['-H', h]),
    ...(run.ratePerClient !== undefined ? ['--rps', String(run.ratePerClient)] : []),
    ...(run.logFile !== undefined ? ['--log-file', run.logFile] : []),
    run.url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`h2load ${args.join(' ')} exited ${code}\n${out}\n${err}`));
        return;
      }
      resolve({
        ...parseH2loadOutput(out),
        latency: run.logFile !== undefined ? latencyFromLog(fs.readFileSync(run.logFile, 'utf8')) : undefined,
        output: out,
      });
    });
  });
}

/** Parse the summary h2load prints (see the sample in docs: `finished in …`, `requests: …`, `status codes: …`). */
export function parseH2loadOutput(text: string): Omit<H2loadResult, 'latency' | 'output'> {
  const num = (re: RegExp): number => {
    const m = re.exec(text);
    return m?.[1] !== undefined ? Number(m[1]) : NaN;
  };
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  return {
    reqPerSec: num(/finished in [\d.]+\w+, ([\d.]+) req\/s/),
    succeeded: num(/(\d+) succeeded/),
    failed: num(/(\d+) failed/),
    errored: num(/(\d+) errored/),
    timeout: num(/(\d+) timeout/),
    non2xx: codes !== null ? Number(codes[3]) + Number(codes[4]) : NaN,
  };
}

/** Latency stats (µs) of the successful (2xx) rows of an h2load `--log-file`; undefined if there are none. */
export function latencyFromLog(text: string): LatencyStats | undefined {
  const durations: number[] = [];
  for (const line of text.split('\n')) {
    const [, status, duration] = line.split('\t');
    if (status === undefined || duration === undefined) continue;
    const code = Number(status);
    if (code >= 200 && code < 300) durations.push(Number(duration));
  }
  if (durations.length === 0) return undefined;
  durations.sort((a, b) => a - b);
  // Nearest-rank percentile, as ghz reports them.
  // toFixed drops float noise such as 99.9 / 100 * 1000 = 999.0000000000001.
  const pct = (p: number): number => {
    const rank = Math.ceil(Number(((p / 100) * durations.length).toFixed(6)));
    return durations[Math.min(durations.length - 1, Math.max(0, rank - 1))]!;
  };
  return {
    count: durations.length,
    meanUs: durations.reduce((a, b) => a + b, 0) / durations.length,
    p50Us: pct(50),
    p90Us: pct(90),
    p99Us: pct(99),
    p999Us: pct(99.9),
    maxUs: durations[durations.length - 1]!,
  };
}
