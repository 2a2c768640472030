/**
 * ghz's JSON report (`ghz -O json`, `Report` in bojand/ghz runner/reporter.go),
 * built from the calls our own load generator made. Durations are integer
 * nanoseconds as Go serializes `time.Duration`; `histogram[].mark` is in seconds.
 *
 * One extension: `latencyDistribution` also carries a 99.9 entry (ghz stops at
 * 99); readers that only know ghz's percentages can ignore it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';

/** One finished call, as the generator records it. */
export interface CallSample {
  /** Wall-clock start, ms since the epoch (for `details[].timestamp`). */
  readonly startMs: number;
  /** Call latency in ns (request issued → stream closed). */
  readonly latencyNs: number;
  /** gRPC status name as Go's codes.Code prints it (`OK`, `Unavailable`, ...). */
  readonly status: string;
  /** Error text for non-OK calls, '' for OK. */
  readonly error: string;
}

export interface GhzLatencyPoint {
  readonly percentage: number;
  readonly latency: number;
}

export interface GhzBucket {
  readonly mark: number;
  readonly count: number;
  readonly frequency: number;
}

export interface GhzDetail {
  readonly timestamp: string;
  readonly latency: number;
  readonly error: string;
  readonly status: string;
}

/** The fields of ghz's report we produce (same names and units). */
export interface GhzReport {
  readonly name: string;
  readonly endReason: 'normal' | 'cancel' | 'timeout';
  readonly date: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly count: number;
  readonly total: number;
  readonly average: number;
  readonly fastest: number;
  readonly slowest: number;
  readonly rps: number;
  readonly errorDistribution: Readonly<Record<string, number>>;
  readonly statusCodeDistribution: Readonly<Record<string, number>>;
  readonly latencyDistribution: readonly GhzLatencyPoint[] | null;
  readonly histogram: readonly GhzBucket[] | null;
  readonly details?: readonly GhzDetail[];
}

/** ghz's percentages, plus 99.9 (see the file comment). */
export const REPORT_PERCENTAGES = [10, 25, 50, 75, 90, 95, 99, 99.9] as const;

/** ghz caps `details` at this many entries. */
const MAX_DETAILS = 1_000_000;

/** Nearest-rank percentile of an ascending array (as ghz computes them). */
export function nearestRank(sorted: Float64Array | readonly number[], percentage: number): number {
  if (sorted.length === 0) return 0;
  // toFixed drops float noise such as 99.9 / 100 * 1000 = 999.0000000000001.
  const rank = Math.ceil(Number(((percentage / 100) * sorted.length).toFixed(6)));
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** ghz's histogram: 10 equal buckets from fastest to slowest (11 marks), counts of the sorted OK latencies. */
export function ghzHistogram(sortedNs: Float64Array): GhzBucket[] {
  if (sortedNs.length === 0) return [];
  const fastest = sortedNs[0]!;
  const slowest = sortedNs[sortedNs.length - 1]!;
  const bucketCount = 10;
  const size = (slowest - fastest) / bucketCount;
  const marks = Array.from({ length: bucketCount + 1 }, (_, i) => (i === bucketCount ? slowest : fastest + size * i));
  const counts = new Array<number>(bucketCount + 1).fill(0);
  let bucket = 0;
  for (let i = 0; i < sortedNs.length; ) {
    if (sortedNs[i]! <= marks[bucket]!) {
      counts[bucket]!++;
      i++;
    } else if (bucket < bucketCount) {
      bucket++;
    } else {
      break;
    }
  }
  return marks.map((mark, i) => ({ mark: mark / 1e9, count: counts[i]!, frequency: counts[i]! / sortedNs.length }));
}

/** Everything that describes one run besides the calls. */
export interface ReportContext {
  readonly name: string;
  readonly endReason: GhzReport['endReason'];
  readonly startedMs: number;
  /** Wall time of the measured part of the run, ns. */
  readonly totalNs: number;
  readonly options: Readonly<Record<string, unknown>>;
  readonly details: boolean;
}

/**
 * Build the report. As ghz: `count` and `average` cover every call (OK or not),
 * `fastest`/`slowest`/percentiles/histogram only the OK ones, `rps` = count / total.
 */
export function buildGhzReport(samples: readonly CallSample[], context: ReportContext): GhzReport {
  const okLatencies = new Float64Array(samples.filter((s) => s.status === 'OK').map((s) => s.latencyNs)).sort();
  const statusCodeDistribution: Record<string, number> = {};
  const errorDistribution: Record<string, number> = {};
  let sum = 0;
  for (const s of samples) {
    sum += s.latencyNs;
    statusCodeDistribution[s.status] = (statusCodeDistribution[s.status] ?? 0) + 1;
    if (s.status !== 'OK') errorDistribution[s.error] = (errorDistribution[s.error] ?? 0) + 1;
  }
  const count = samples.length;
  const report: GhzReport = {
    name: context.name,
    endReason: context.endReason,
    date: new Date(context.startedMs).toISOString(),
    options: context.options,
    count,
    total: Math.round(context.totalNs),
    average: count > 0 ? Math.round(sum / count) : 0,
    fastest: okLatencies.length > 0 ? Math.round(okLatencies[0]!) : 0,
    slowest: okLatencies.length > 0 ? Math.round(okLatencies[okLatencies.length - 1]!) : 0,
    rps: context.totalNs > 0 ? count / (context.totalNs / 1e9) : 0,
    errorDistribution,
    statusCodeDistribution,
    latencyDistribution: okLatencies.length > 0 ? REPORT_PERCENTAGES.map((percentage) => ({ percentage, latency: Math.round(nearestRank(okLatencies, percentage)) })) : null,
    histogram: okLatencies.length > 0 ? ghzHistogram(okLatencies) : null,
  };
  if (!context.details) return report;
  return {
    ...report,
    details: samples.slice(0, MAX_DETAILS).map((s) => ({
      timestamp: new Date(s.startMs).toISOString(),
      latency: Math.round(s.latencyNs),
      error: s.error,
      status: s.status,
    })),
  };
}

/** The latency (ns) at `percentage` in a report's distribution, if present. */
export function reportPercentile(report: GhzReport, percentage: number): number | undefined {
  return report.latencyDistribution?.find((p) => p.percentage === percentage)?.latency;
}

/** Parse and shape-check a ghz JSON report (ours or ghz's own); throws naming the first bad field. */
export function parseGhzReport(text: string, source: string): GhzReport {
  const value = JSON.parse(text) as Record<string, unknown>;
  const need = (field: string, type: string): void => {
    if (typeof value[field] !== type) throw new Error(`${source}: ghz report field "${field}" must be a ${type}, got ${JSON.stringify(value[field])}`);
  };
  for (const f of ['count', 'total', 'average', 'fastest', 'slowest', 'rps']) need(f, 'number');
  for (const f of ['statusCodeDistribution', 'errorDistribution']) need(f, 'object');
  for (const f of ['latencyDistribution', 'histogram']) {
    if (value[f] !== null && !Array.isArray(value[f])) throw new Error(`${source}: ghz report field "${f}" must be an array or null`);
  }
  return value as unknown as GhzReport;
}

/**
 * Runs a command that writes a ghz JSON report to `output` (ghz itself, or our generator) and
 * reads it. Rejects with `label`, the exit code and the end of stderr when the command fails.
 */
export function runForGhzReport(command: string, args: readonly string[], output: string, label: string): Promise<GhzReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${label} exited ${code}: ${err.trim().slice(-2000)}`));
      try {
        resolve(parseGhzReport(fs.readFileSync(output, 'utf8'), output));
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}
