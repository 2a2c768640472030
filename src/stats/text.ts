/**
 * `/stats` as Envoy prints it (`envoyproxy/envoy:source/server/admin/stats_render.cc`):
 * counters and gauges together sorted by name as `name: value`, then histograms sorted by name
 * as `name: P0(interval,cumulative) P25(…) … P100(…)` or `name: No recorded values`.
 * `?format=json` gives `{"stats":[{"name","value"}…,{"histograms":{"supported_quantiles",
 * "computed_quantiles":[{"name","values":[{"interval","cumulative"}…]}]}}]}`.
 */
import { SUPPORTED_QUANTILES } from './histogram';
import type { RenderOptions } from './prometheus';
import type { HistogramValue, StatsSnapshot, StatValue } from './store';

function shownValues(s: StatsSnapshot, o: RenderOptions): StatValue[] {
  return [...s.counters, ...s.gauges]
    .filter((v) => (!o.usedOnly || v.used) && (!o.filter || o.filter.test(v.name)))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function shownHistograms(s: StatsSnapshot, o: RenderOptions): HistogramValue[] {
  return s.histograms
    .filter((h) => (!o.usedOnly || h.histogram.used) && (!o.filter || o.filter.test(h.name)))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A double as fmt's `{}` prints it (shortest round trip; `nan`). */
function num(x: number): string {
  return Number.isNaN(x) ? 'nan' : String(x);
}

/** A double as `%g` prints it (6 significant digits): 99.5, not 99.49999999999999. */
function g6(x: number): number {
  return Number(x.toPrecision(6));
}

/** Envoy's `quantileSummary()`. */
export function quantileSummary(h: HistogramValue['histogram']): string {
  if (!h.used) return 'No recorded values';
  const iq = h.intervalStatistics().quantiles;
  const cq = h.cumulativeStatistics().quantiles;
  return SUPPORTED_QUANTILES.map((q, i) => `P${g6(q * 100)}(${num(iq[i]!)},${num(cq[i]!)})`).join(' ');
}

export function renderText(s: StatsSnapshot, o: RenderOptions = {}): string {
  const out: string[] = [];
  for (const v of shownValues(s, o)) out.push(`${v.name}: ${v.value}\n`);
  for (const h of shownHistograms(s, o)) out.push(`${h.name}: ${quantileSummary(h.histogram)}\n`);
  return out.join('');
}

export function renderJson(s: StatsSnapshot, o: RenderOptions = {}): string {
  const stats: unknown[] = shownValues(s, o).map((v) => ({ name: v.name, value: v.value }));
  const hs = shownHistograms(s, o);
  if (hs.length) {
    stats.push({
      histograms: {
        supported_quantiles: SUPPORTED_QUANTILES.map((q) => g6(q * 100)),
        computed_quantiles: hs.map((h) => {
          const iq = h.histogram.intervalStatistics().quantiles;
          const cq = h.histogram.cumulativeStatistics().quantiles;
          return {
            name: h.name,
            // NaN (nothing recorded) has no JSON spelling: null.
            values: SUPPORTED_QUANTILES.map((_q, i) => ({ interval: Number.isNaN(iq[i]!) ? null : iq[i], cumulative: Number.isNaN(cq[i]!) ? null : cq[i] })),
          };
        }),
      },
    });
  }
  return JSON.stringify({ stats }, null, 2) + '\n';
}
