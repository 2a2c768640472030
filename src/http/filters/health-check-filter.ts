/**
 * envoy.filters.http.health_check at runtime (Envoy's HealthCheckFilter): a request whose
 * headers match is marked a health check (access logs' `not_health_check` skips it) and is
 *
 * - answered locally (not pass-through): 200, or 503 while the server fails health checks
 *   (`POST /healthcheck/fail`) or a cluster in `cluster_min_healthy_percentages` is below its
 *   minimum (healthy + degraded hosts against all hosts);
 * - passed through to the router (pass-through), except while the server fails health checks
 *   (503 locally) or a cached upstream answer younger than `cache_time` exists.
 *
 * Responses to health checks carry `x-envoy-upstream-healthchecked-cluster` (the local service
 * cluster); every other response gets `x-envoy-immediate-health-check-fail: true` while the
 * server fails health checks, so Envoy upstreams of this proxy drop it at once.
 */
import type { OutgoingHttpHeaders } from 'node:http2';
import type { HealthCheckFilterModel } from '../../extensions/registry';
import { compileHeaderMatcher, type HeaderBag } from '../../router/matchers';
import { serverHealth } from '../../server/server-health';
import type { LocalReply } from '../local-reply';
import type { FilterHeadersStatus, FilterStream, HttpFilter } from './http-filter';

/** What the filter reads of the clusters (the ClusterManager). */
export interface ClusterLookup {
  get(name: string): { allHosts(): ReadonlyArray<{ readonly coarseHealth: string }> } | undefined;
}

export class HealthCheckFilter implements HttpFilter {
  readonly name = 'envoy.filters.http.health_check';
  private readonly matchers: ReadonlyArray<(h: HeaderBag) => boolean>;
  /** Envoy's HealthCheckCacheManager: one per filter config, cleared every cache_time. */
  private readonly cache: { code: number; degraded: boolean; use: boolean } | undefined;
  private readonly cacheTimer: NodeJS.Timeout | undefined;

  constructor(private readonly model: HealthCheckFilterModel, private readonly clusters: ClusterLookup) {
    this.matchers = model.headers.map(compileHeaderMatcher);
    if (model.passThroughMode && model.cacheTimeMs > 0) {
      const cache = { code: 200, degraded: false, use: false };
      this.cache = cache;
      this.cacheTimer = setInterval(() => { cache.use = false; }, model.cacheTimeMs);
      this.cacheTimer.unref();
    }
  }

  decodeHeaders(s: FilterStream): FilterHeadersStatus {
    const h = s.requestHeaders;
    for (const m of this.matchers) if (!m(h)) return 'continue';
    s.info.healthCheck = true;
    if (this.model.passThroughMode && !serverHealth.healthCheckFailed && !this.cache?.use) return 'continue';
    s.onRequestComplete(() => this.complete(s));
    return 'stop';
  }

  encodeHeaders(s: FilterStream, headers: OutgoingHttpHeaders): void {
    if (s.info.healthCheck) {
      if (this.cache) {
        this.cache.code = Number(headers[':status']);
        this.cache.degraded = headers['x-envoy-degraded'] !== undefined;
        this.cache.use = true;
      }
      headers['x-envoy-upstream-healthchecked-cluster'] = serverHealth.localClusterName;
    } else if (serverHealth.healthCheckFailed) {
      headers['x-envoy-immediate-health-check-fail'] = 'true';
    }
  }

  destroy(): void {
    if (this.cacheTimer) clearInterval(this.cacheTimer);
  }

  /** Envoy's onComplete: the local answer, once the whole request is in. */
  private complete(s: FilterStream): void {
    let reply: LocalReply;
    let degraded = false;
    if (serverHealth.healthCheckFailed) {
      reply = { status: 503, body: '', flag: 'LH', details: 'health_check_failed' };
    } else if (this.cache) {
      degraded = this.cache.degraded;
      reply = this.withFlag(this.cache.code, 'health_check_cached');
    } else if (this.model.clusterMinHealthyPercentages.length > 0) {
      reply = this.clusterVerdict();
    } else {
      reply = { status: 200, body: '', flag: undefined, details: 'health_check_ok' };
    }
    s.sendLocalReply(reply, degraded ? { 'x-envoy-degraded': '' } : undefined);
  }

  private clusterVerdict(): LocalReply {
    let details = 'health_check_ok';
    for (const { cluster, percent } of this.model.clusterMinHealthyPercentages) {
      details = 'health_check_ok_cluster_healthy';
      const c = this.clusters.get(cluster);
      if (!c) return this.withFlag(503, 'health_check_failed_no_cluster_found');
      const hosts = c.allHosts();
      if (hosts.length === 0) {
        // An empty cluster fails unless its minimum is 0.
        if (Math.floor(percent) === 0) continue;
        return this.withFlag(503, 'health_check_failed_cluster_empty');
      }
      let available = 0;
      for (const host of hosts) if (host.coarseHealth !== 'unhealthy') available++;
      // Envoy compares in integers: 100 * (healthy + degraded) < total * floor(percent).
      if (100 * available < hosts.length * Math.floor(percent)) return this.withFlag(503, 'health_check_failed_cluster_unhealthy');
    }
    return this.withFlag(200, details);
  }

  private withFlag(status: number, details: string): LocalReply {
    return { status, body: '', flag: status >= 200 && status < 300 ? undefined : 'LH', details };
  }
}
