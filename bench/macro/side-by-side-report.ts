/**
 * The side-by-side run as a markdown section (appended to bench/RESULTS.md):
 * one table per workload with a row per path, then Legate's ratios to each
 * baseline measured in the same run.
 */

/** What one path measured on one workload. */
export interface Cell {
  readonly workload: string;
  readonly path: string;
  /** h2load closed loop, calls/s. */
  readonly h2loadCallsPerS: number;
  /** Our generator's closed loop, calls/s (ghz report `rps`). */
  readonly genCallsPerS: number;
  /** ghz's own closed loop, calls/s, when ghz is installed. */
  readonly ghzCallsPerS?: number;
  /** Proxy user+system CPU per call served during the h2load closed loop, µs. */
  readonly cpuUsPerCallMax: number | undefined;
  /** Same during the open loop at the fixed rate. */
  readonly cpuUsPerCallAtRate: number | undefined;
  /** Open-loop target rate and what was achieved, calls/s. */
  readonly openRate: number;
  readonly openAchieved: number;
  /** Open-loop latency of OK calls, µs. */
  readonly p50Us: number | undefined;
  readonly p99Us: number | undefined;
  readonly p999Us: number | undefined;
  /**
   * The same rate from h2load (`--rps`, C, no GC of its own): latency of 2xx calls, µs. The node
   * generator's own pauses widen its tail; h2load's tail is the path's.
   */
  readonly h2P50Us?: number;
  readonly h2P99Us?: number;
  readonly h2P999Us?: number;
  /** Proxy RSS right after start, and VmHWM at the end of the workload (MiB, process tree). */
  readonly idleRssMiB: number | undefined;
  readonly peakRssMiB: number | undefined;
  /** Calls that failed in any of the three runs (h2load failures, calls h2load saw but the backend did not serve, non-OK gRPC statuses). */
  readonly errors: number;
}

export interface RunInfo {
  readonly date: string;
  readonly machine: string;
  readonly load: string;
  readonly commit: string;
  readonly versions: string;
  readonly settings: string;
  /** Relative link to the chart, if one was written. */
  readonly chart: string | undefined;
  /** Paths asked for that did not run, with the reason. */
  readonly skipped: readonly string[];
}

const num = (n: number | undefined, digits = 0): string =>
  n === undefined || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? '–' : `${(a / b).toFixed(2)}×`;
const added = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined ? '–' : `${a - b >= 0 ? '+' : '−'}${Math.abs(Math.round(a - b)).toLocaleString('en-US')}`;

/** Column heads; the ghz column only when ghz ran. */
function columns(withGhz: boolean): string[] {
  return [
    'path', 'calls/s (h2load)', 'calls/s (node gen)', ...(withGhz ? ['calls/s (ghz)'] : []), 'proxy CPU µs/call (max load)', 'proxy CPU µs/call @ rate',
    'achieved rate', 'node gen @ rate p50 µs', 'p99 µs', 'p99.9 µs', 'h2load paced p50 / p99 / p99.9 µs', 'RSS idle MiB', 'peak RSS MiB', 'errors',
  ];
}

function ratioColumns(withGhz: boolean): string[] {
  return [
    'Legate vs', 'calls/s (h2load)', 'calls/s (node gen)', ...(withGhz ? ['calls/s (ghz)'] : []), 'CPU/call (max load)', 'CPU/call @ rate',
    'added p50 µs (node gen)', 'added p99 µs', 'added p99.9 µs', 'added p50 / p99 µs (h2load paced)', 'peak RSS',
  ];
}

function cellRow(c: Cell, withGhz: boolean): string[] {
  return [
    c.path, num(c.h2loadCallsPerS), num(c.genCallsPerS), ...(withGhz ? [num(c.ghzCallsPerS)] : []), num(c.cpuUsPerCallMax, 1), num(c.cpuUsPerCallAtRate, 1),
    num(c.openAchieved), num(c.p50Us), num(c.p99Us), num(c.p999Us), `${num(c.h2P50Us)} / ${num(c.h2P99Us)} / ${num(c.h2P999Us)}`,
    num(c.idleRssMiB, 1), num(c.peakRssMiB, 1), String(c.errors),
  ];
}

function ratioRow(legate: Cell, base: Cell, withGhz: boolean): string[] {
  return [
    base.path,
    ratio(legate.h2loadCallsPerS, base.h2loadCallsPerS),
    ratio(legate.genCallsPerS, base.genCallsPerS),
    ...(withGhz ? [ratio(legate.ghzCallsPerS, base.ghzCallsPerS)] : []),
    ratio(legate.cpuUsPerCallMax, base.cpuUsPerCallMax),
    ratio(legate.cpuUsPerCallAtRate, base.cpuUsPerCallAtRate),
    added(legate.p50Us, base.p50Us),
    added(legate.p99Us, base.p99Us),
    added(legate.p999Us, base.p999Us),
    `${added(legate.h2P50Us, base.h2P50Us)} / ${added(legate.h2P99Us, base.h2P99Us)}`,
    ratio(legate.peakRssMiB, base.peakRssMiB),
  ];
}

const table = (columns: readonly string[], rows: readonly string[][]): string[] => [
  `| ${columns.join(' | ')} |`,
  `|${columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
];

/** The whole section: heading, context, per-workload tables with ratio rows. */
export function renderSideBySide(info: RunInfo, workloads: readonly { id: string; title: string; openRate: number }[], cells: readonly Cell[]): string {
  const lines = [
    `### Side by side ${info.date} · ${info.machine}`,
    '',
    `commit \`${info.commit}\` · ${info.versions} · ${info.load}`,
    '',
    info.settings,
    '',
  ];
  if (info.skipped.length > 0) lines.push(`Not measured: ${info.skipped.join('; ')}.`, '');
  if (info.chart !== undefined) lines.push(`Chart: [${info.chart}](${info.chart})`, '');
  for (const w of workloads) {
    const rows = cells.filter((c) => c.workload === w.id);
    if (rows.length === 0) continue;
    lines.push(`**${w.title}** (\`${w.id}\`; latency at ${w.openRate.toLocaleString('en-US')} calls/s)`, '');
    const withGhz = rows.some((c) => c.ghzCallsPerS !== undefined);
    lines.push(...table(columns(withGhz), rows.map((c) => cellRow(c, withGhz))), '');
    const legate = rows.find((c) => c.path === 'legate');
    const bases = rows.filter((c) => c.path !== 'legate' && c.path !== 'legate-c2');
    if (legate !== undefined && bases.length > 0) {
      lines.push(...table(ratioColumns(withGhz), bases.map((b) => ratioRow(legate, b, withGhz))), '');
    }
    // Worker scaling: the same Legate with two worker processes, over one process.
    const c2 = rows.find((c) => c.path === 'legate-c2');
    if (legate !== undefined && c2 !== undefined) {
      lines.push(`\`--concurrency 2\` / \`--concurrency 1\`: calls/s ${ratio(c2.h2loadCallsPerS, legate.h2loadCallsPerS)} (h2load), ${ratio(c2.genCallsPerS, legate.genCallsPerS)} (node gen)${withGhz ? `, ${ratio(c2.ghzCallsPerS, legate.ghzCallsPerS)} (ghz)` : ''}; CPU/call at max load ${ratio(c2.cpuUsPerCallMax, legate.cpuUsPerCallMax)}`, '');
    }
  }
  return lines.join('\n');
}
