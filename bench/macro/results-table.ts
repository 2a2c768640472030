/**
 * Rendering one benchmark run as a markdown section (appended to bench/RESULTS.md).
 */
import type { LatencyStats } from './h2load';

/** Everything measured for one path (direct or through Legate). */
export interface PathResult {
  /** `'direct'` or `'legate'`. */
  readonly path: string;
  readonly closedReqPerSec: number;
  readonly closedLatency: LatencyStats | undefined;
  readonly openLatency: LatencyStats | undefined;
  /** Achieved rate of the open-loop run. */
  readonly openReqPerSec: number;
  /** Proxy CPU (user+system) per call in µs, closed-loop run; undefined for direct. */
  readonly proxyCpuUsPerCall: number | undefined;
  /** Proxy peak RSS (VmHWM) in MiB at the end; undefined for direct. */
  readonly proxyPeakRssMiB: number | undefined;
  /** Backend CPU per call in µs, closed-loop run. */
  readonly backendCpuUsPerCall: number;
  /** Failed/errored/timed-out/non-2xx requests plus calls h2load counted but the backend never served. */
  readonly errors: number;
}

/** Facts about the run printed in the section heading. */
export interface RunContext {
  readonly date: string;
  readonly machine: string;
  readonly commit: string;
  readonly node: string;
  readonly h2load: string;
  readonly workload: string;
}

const COLUMNS = [
  'path',
  'closed req/s',
  'closed mean µs',
  'closed p50 µs',
  'closed p99 µs',
  'open req/s',
  'open p50 µs',
  'open p90 µs',
  'open p99 µs',
  'open p99.9 µs',
  'proxy CPU µs/call',
  'proxy peak RSS MiB',
  'backend CPU µs/call',
  'errors',
];

const int = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US'));
const one = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(1));
const delta = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined ? '–' : `${b - a >= 0 ? '+' : ''}${Math.round(b - a).toLocaleString('en-US')}`;

function row(r: PathResult): string[] {
  return [
    r.path,
    int(r.closedReqPerSec),
    int(r.closedLatency?.meanUs),
    int(r.closedLatency?.p50Us),
    int(r.closedLatency?.p99Us),
    int(r.openReqPerSec),
    int(r.openLatency?.p50Us),
    int(r.openLatency?.p90Us),
    int(r.openLatency?.p99Us),
    int(r.openLatency?.p999Us),
    one(r.proxyCpuUsPerCall),
    one(r.proxyPeakRssMiB),
    one(r.backendCpuUsPerCall),
    String(r.errors),
  ];
}

/** Ratio / difference row: throughput as legate ÷ direct, latencies as legate − direct (µs). */
function ratioRow(direct: PathResult, legate: PathResult): string[] {
  return [
    'legate vs direct',
    `${(legate.closedReqPerSec / direct.closedReqPerSec).toFixed(2)}×`,
    delta(direct.closedLatency?.meanUs, legate.closedLatency?.meanUs),
    delta(direct.closedLatency?.p50Us, legate.closedLatency?.p50Us),
    delta(direct.closedLatency?.p99Us, legate.closedLatency?.p99Us),
    `${(legate.openReqPerSec / direct.openReqPerSec).toFixed(2)}×`,
    delta(direct.openLatency?.p50Us, legate.openLatency?.p50Us),
    delta(direct.openLatency?.p90Us, legate.openLatency?.p90Us),
    delta(direct.openLatency?.p99Us, legate.openLatency?.p99Us),
    delta(direct.openLatency?.p999Us, legate.openLatency?.p999Us),
    '',
    '',
    '',
    '',
  ];
}

/** The markdown section for one run: heading, workload line, table (rows in order, plus the comparison row when both paths ran). */
export function renderSection(context: RunContext, results: readonly PathResult[]): string {
  const lines = [
    `### ${context.date} · ${context.machine}`,
    '',
    `commit \`${context.commit}\` · node ${context.node} · ${context.h2load}`,
    '',
    context.workload,
    '',
    `| ${COLUMNS.join(' | ')} |`,
    `|${COLUMNS.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...results.map((r) => `| ${row(r).join(' | ')} |`),
  ];
  const direct = results.find((r) => r.path === 'direct');
  const legate = results.find((r) => r.path === 'legate');
  if (direct !== undefined && legate !== undefined) lines.push(`| ${ratioRow(direct, legate).join(' | ')} |`);
  return lines.join('\n') + '\n';
}
