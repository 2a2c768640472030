/**
 * `/stats/prometheus` exactly as Envoy renders it
 * (`envoyproxy/envoy:source/server/admin/prometheus_stats.cc`):
 *
 * - counters, then gauges, then histograms; within each type one group per tag-extracted name,
 *   groups ordered by that name compared token by token (Envoy's `StatNameLessThan`), each
 *   group `# TYPE envoy_<name> <type>`, its series ordered by full stat name, then a blank line;
 * - names `envoy_` + the tag-extracted name with every char outside `[a-zA-Z0-9_]` as `_`;
 *   labels in extraction order, names sanitized the same way; `{}` on a series without tags;
 * - histograms: `_bucket{…,le="<bound>"}` for Envoy's bounds (printed `%.32g`), `le="+Inf"`,
 *   `_sum` (`%.32g`) and `_count`, all cumulative.
 *
 * Why not prom-client's `Registry.metrics()`: it writes `# HELP` lines Envoy does not, omits the
 * braces on tagless series (`envoy_server_live 1` vs Envoy's `envoy_server_live{} 1`), puts the
 * histogram's `le` after labels in its own order, prints bounds and sums with JavaScript's
 * shortest form instead of `%.32g`, and its bucket semantics (`value <= le`) differ from Envoy's
 * circllhist bins. Byte-for-byte compatibility is the point (dashboards, recording rules, golden
 * tests), so this renderer is written out; prom-client serves as a test oracle instead.
 */
import { DEFAULT_BUCKETS } from './histogram';
import type { StatsSnapshot, StatsStore, StatValue, HistogramValue } from './store';
import type { Tag } from './tag-producer';

export interface RenderOptions {
  /** `?usedonly`: only stats that were ever written. */
  readonly usedOnly?: boolean;
  /** `?filter=`: only stats whose full name matches. */
  readonly filter?: RegExp;
}

const UNSAFE = /[^a-zA-Z0-9_]/g;

/** Envoy's `sanitizeName`. */
export function sanitizePrometheusName(s: string): string {
  return s.replace(UNSAFE, '_');
}

/** C's `%.32g` (what fmt's `{:.32g}` prints): 32 significant digits, trailing zeros dropped. */
export function formatG32(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const exp = Math.floor(Math.log10(Math.abs(x)));
  if (exp < -4 || exp >= 32) {
    let [m, e] = x.toExponential(31).split('e') as [string, string];
    if (m.includes('.')) m = m.replace(/0+$/, '').replace(/\.$/, '');
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  let s = x.toPrecision(32);
  if (s.includes('e')) s = x.toFixed(Math.max(0, 31 - exp));
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

/** Envoy's `SymbolTable::lessThan`: token-by-token comparison of dotted names. */
export function compareStatNames(a: string, b: string): number {
  if (a === b) return 0;
  const at = a.split('.');
  const bt = b.split('.');
  const n = Math.min(at.length, bt.length);
  for (let i = 0; i < n; i++) {
    if (at[i] !== bt[i]) return at[i]! < bt[i]! ? -1 : 1;
  }
  return at.length - bt.length;
}

/**
 * Envoy's custom stat namespaces (`Api::customStatNamespaces()`): a stat whose extracted name
 * starts with `<namespace>.` is exported without the namespace and without `envoy_`. Istio's
 * stats filter registers `istiocustom`, so `istiocustom.istio_requests_total` is exported as
 * `istio_requests_total`.
 */
const customNamespaces = new Set<string>();

export function registerCustomStatNamespace(ns: string): void {
  customNamespaces.add(ns);
}

/** The Prometheus metric name of a tag-extracted stat name. */
export function prometheusMetricName(extracted: string): string {
  const dot = extracted.indexOf('.');
  if (dot > 0 && customNamespaces.size && customNamespaces.has(extracted.slice(0, dot))) return sanitizePrometheusName(extracted.slice(dot + 1));
  return `envoy_${sanitizePrometheusName(extracted)}`;
}

function labels(tags: readonly Tag[]): string {
  // Label values are written as Envoy writes them, except that `\`, `"` and newlines are
  // escaped so the exposition stays parseable (no cluster or listener name in practice has them).
  return tags.map((t) => `${sanitizePrometheusName(t.name)}="${t.value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`).join(',');
}

function shown(name: string, used: boolean, o: RenderOptions): boolean {
  return (!o.usedOnly || used) && (!o.filter || o.filter.test(name));
}

/** Renders a snapshot of `store`. */
export function renderPrometheus(store: StatsStore, snapshot: StatsSnapshot, o: RenderOptions = {}): string {
  const out: string[] = [];
  renderNumeric(store, snapshot.counters, 'counter', o, out);
  renderNumeric(store, snapshot.gauges, 'gauge', o, out);
  renderHistograms(store, snapshot.histograms, o, out);
  return out.join('');
}

function group<T extends { readonly name: string }>(store: StatsStore, items: readonly T[], keep: (t: T) => boolean): Array<[string, T[]]> {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    if (!keep(it)) continue;
    const key = store.tagged(it.name).extracted;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(it);
  }
  const sorted = [...groups.entries()].sort(([a], [b]) => compareStatNames(a, b));
  for (const [, g] of sorted) g.sort((x, y) => compareStatNames(x.name, y.name));
  return sorted;
}

function renderNumeric(store: StatsStore, stats: readonly StatValue[], type: string, o: RenderOptions, out: string[]): void {
  for (const [extracted, g] of group(store, stats, (s) => shown(s.name, s.used, o))) {
    const metric = prometheusMetricName(extracted);
    out.push(`# TYPE ${metric} ${type}\n`);
    for (const s of g) out.push(`${metric}{${labels(store.tagged(s.name).tags)}} ${s.value}\n`);
    out.push('\n');
  }
}

function renderHistograms(store: StatsStore, hs: readonly HistogramValue[], o: RenderOptions, out: string[]): void {
  for (const [extracted, g] of group(store, hs, (h) => shown(h.name, h.histogram.used, o))) {
    const metric = prometheusMetricName(extracted);
    out.push(`# TYPE ${metric} histogram\n`);
    for (const h of g) {
      const tags = labels(store.tagged(h.name).tags);
      const bucketTags = tags ? `${tags},` : '';
      const st = h.histogram.cumulativeStatistics();
      for (let i = 0; i < DEFAULT_BUCKETS.length; i++) {
        out.push(`${metric}_bucket{${bucketTags}le="${formatG32(DEFAULT_BUCKETS[i]!)}"} ${st.cumulativeBuckets[i]}\n`);
      }
      out.push(`${metric}_bucket{${bucketTags}le="+Inf"} ${st.sampleCount}\n`);
      out.push(`${metric}_sum{${tags}} ${formatG32(st.sampleSum)}\n`);
      out.push(`${metric}_count{${tags}} ${st.sampleCount}\n`);
    }
    out.push('\n');
  }
}
