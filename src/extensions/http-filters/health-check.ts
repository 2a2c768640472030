import type { HeaderMatcherModel } from '../../snapshot/model';
import { decodeHeaderMatcher } from '../../xds/resources/route-config';
import type { ProtoObj } from '../../xds/resources/decode-context';
import type { HttpFilterFactory } from '../registry';

/**
 * envoy.filters.http.health_check (envoy.extensions.filters.http.health_check.v3.HealthCheck):
 * `pass_through_mode` is required; `cache_time` only makes sense in pass-through mode (Envoy's
 * factory rejects it otherwise); `cluster_min_healthy_percentages` values are Percent (0-100).
 */
export const healthCheckFilter: HttpFilterFactory = {
  decode(config, path, ctx) {
    if (typeof config.pass_through_mode !== 'boolean') ctx.error(`${path}.pass_through_mode`, 'pass_through_mode is required');
    const passThroughMode = config.pass_through_mode === true;
    const cacheTimeMs = typeof config.cache_time === 'number' ? config.cache_time : 0;
    if (cacheTimeMs < 0) ctx.error(`${path}.cache_time`, `${cacheTimeMs} ms must not be negative`);
    if (!passThroughMode && cacheTimeMs > 0) ctx.error(`${path}.cache_time`, 'cache_time must not be set when pass_through_mode is disabled');
    const headers: HeaderMatcherModel[] = (config.headers ?? []).map((h: ProtoObj, i: number) => decodeHeaderMatcher(h, `${path}.headers[${i}]`, ctx));
    const clusterMinHealthyPercentages: Array<{ cluster: string; percent: number }> = [];
    for (const [cluster, p] of mapEntries(config.cluster_min_healthy_percentages)) {
      const percent = Number((p as ProtoObj | undefined)?.value ?? 0);
      if (!(percent >= 0 && percent <= 100)) ctx.error(`${path}.cluster_min_healthy_percentages["${cluster}"].value`, `${percent} must be in [0, 100]`);
      clusterMinHealthyPercentages.push({ cluster, percent });
    }
    return { kind: 'health_check', passThroughMode, headers, cacheTimeMs, clusterMinHealthyPercentages };
  },
};

/** A proto map as normalized (an object), or as `[{key, value}]` entries. */
function mapEntries(m: unknown): Array<[string, unknown]> {
  if (Array.isArray(m)) return m.map((e: ProtoObj) => [String(e.key ?? ''), e.value]);
  if (m && typeof m === 'object') return Object.entries(m as Record<string, unknown>);
  return [];
}
