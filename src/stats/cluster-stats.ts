/**
 * `cluster.<name>.*`: the router's per-cluster stats (response codes, upstream_rq_time) plus
 * the counters clusters and hosts keep themselves (`ClusterStats`, `HostStats`), read when stats
 * are read.
 *
 * Envoy keeps stats by name, so a cluster rebuilt by a CDS change keeps counting where the old
 * one stopped. Legate's `Cluster` objects own plain counters that start at 0, so a scope sums
 * every cluster (and host) object it has seen under its name, and folds retired ones into a
 * base once they have nothing in flight. Per-request cost: one WeakMap lookup per request to
 * find the scope, then array increments; no string is built per request.
 */
import type { Cluster, ClusterStats } from '../upstream/cluster';
import type { HostStats } from '../upstream/host';
import { Histogram } from './histogram';
import type { StatSink, StatsStore } from './store';
import { CLUSTER_HOST_SUMS, CLUSTER_OWN_STATS, sanitizeStatName } from './tables';

const OWN_KEYS = Object.keys(CLUSTER_OWN_STATS) as Array<keyof typeof CLUSTER_OWN_STATS>;
const HOST_KEYS = Object.keys(CLUSTER_HOST_SUMS) as Array<keyof typeof CLUSTER_HOST_SUMS>;

/** `upstream_rq_<code>` / `upstream_rq_<N>xx` counters of a scope. */
class CodeCounters {
  readonly byCode = new Float64Array(600);
  readonly codeUsed = new Uint8Array(600);
  readonly byClass = new Float64Array(6);
  readonly classUsed = new Uint8Array(6);
}

/** The stats of one cluster name. */
export class ClusterScope {
  /** `cluster.<observability name>.` */
  readonly prefix: string;
  /** `upstream_rq_time`: upstream request start to response end, ms. */
  readonly upstreamRqTime = new Histogram();
  /** Router retry counters (`upstream_rq_retry*`) and the retries waiting on their back-off now. */
  retry = 0;
  retrySuccess = 0;
  retryOverflow = 0;
  retryLimitExceeded = 0;
  /** `upstream_rq_per_try_timeout`. */
  perTryTimeout = 0;
  /** Retries in back-off or in flight (the max_retries circuit breaker counts these). */
  activeRetries = 0;
  /**
   * Responses per status code (index = code); a code's counter exists once charged. Allocated
   * with the first response (~5 KiB): a sidecar's clusters are mostly never called.
   */
  private codes: CodeCounters | undefined;
  private readonly clusters = new Set<ClusterStats>();
  private readonly hosts = new Set<HostStats>();
  private readonly base: Record<string, number> = {};

  constructor(observabilityName: string) {
    this.prefix = `cluster.${sanitizeStatName(observabilityName)}.`;
  }

  /** `upstream_rq_<code>` and `upstream_rq_<N>xx` for a final upstream response (or the router's 503/504 for it). */
  chargeCode(code: number): void {
    if (code < 100 || code >= 600) return;
    const codes = (this.codes ??= new CodeCounters());
    codes.byCode[code]!++;
    codes.codeUsed[code] = 1;
    const c = (code / 100) | 0;
    codes.byClass[c]!++;
    codes.classUsed[c] = 1;
  }

  /** Reports this scope; `current` is the live cluster of this name. */
  report(sink: StatSink, current: Cluster): void {
    // The 5-s flush of an idle 100-service sidecar built ~0.8 MiB of stat names each time.
    if (sink.histogramsOnly === true) {
      sink.histogram(`${this.prefix}upstream_rq_time`, this.upstreamRqTime);
      return;
    }
    this.clusters.add(current.stats);
    const liveHosts = new Set<HostStats>();
    for (const h of current.allHosts()) {
      liveHosts.add(h.stats);
      this.hosts.add(h.stats);
    }
    // Fold retired objects with nothing in flight into the base.
    for (const s of this.clusters) {
      if (s === current.stats || s.upstream_rq_active !== 0) continue;
      for (const k of OWN_KEYS) if (CLUSTER_OWN_STATS[k] === 'counter') this.base[k] = (this.base[k] ?? 0) + own(s, k);
      this.clusters.delete(s);
    }
    for (const s of this.hosts) {
      if (liveHosts.has(s) || s.cx_active !== 0 || s.rq_active !== 0) continue;
      for (const k of HOST_KEYS) if (CLUSTER_HOST_SUMS[k][1] === 'counter') this.base[k] = (this.base[k] ?? 0) + s[k];
      this.hosts.delete(s);
    }
    const p = this.prefix;
    for (const k of OWN_KEYS) {
      let v = this.base[k] ?? 0;
      for (const s of this.clusters) v += own(s, k);
      if (CLUSTER_OWN_STATS[k] === 'counter') sink.counter(p + k, v);
      else sink.gauge(p + k, v);
    }
    for (const k of HOST_KEYS) {
      let v = this.base[k] ?? 0;
      for (const s of this.hosts) v += s[k];
      const [name, kind] = CLUSTER_HOST_SUMS[k];
      if (kind === 'counter') sink.counter(p + name, v);
      else sink.gauge(p + name, v);
    }
    let healthy = 0;
    let total = 0;
    for (const h of current.allHosts()) {
      total++;
      if (h.healthy) healthy++;
    }
    sink.gauge(`${p}membership_healthy`, healthy, true);
    sink.gauge(`${p}membership_total`, total, true);
    const codes = this.codes;
    if (codes !== undefined) {
      for (let code = 100; code < 600; code++) if (codes.codeUsed[code]) sink.counter(`${p}upstream_rq_${code}`, codes.byCode[code]!, true);
      for (let c = 1; c < 6; c++) if (codes.classUsed[c]) sink.counter(`${p}upstream_rq_${c}xx`, codes.byClass[c]!, true);
    }
    const hc = (current as { healthChecker?: { stats?: Readonly<Record<string, number>> } }).healthChecker?.stats;
    if (hc) {
      for (const k of Object.keys(hc)) {
        if (k === 'healthy' || k === 'degraded') sink.gauge(`${p}health_check.${k}`, hc[k]!, true);
        else sink.counter(`${p}health_check.${k}`, hc[k]!, true);
      }
    }
    reportLimits(sink, p, current);
    sink.counter(`${p}upstream_rq_retry`, this.retry, this.retry > 0);
    sink.counter(`${p}upstream_rq_retry_success`, this.retrySuccess, this.retrySuccess > 0);
    sink.counter(`${p}upstream_rq_retry_overflow`, this.retryOverflow, this.retryOverflow > 0);
    sink.counter(`${p}upstream_rq_retry_limit_exceeded`, this.retryLimitExceeded, this.retryLimitExceeded > 0);
    sink.counter(`${p}upstream_rq_per_try_timeout`, this.perTryTimeout, this.perTryTimeout > 0);
    sink.histogram(`${p}upstream_rq_time`, this.upstreamRqTime);
  }
}

/** Outlier detection (`outlier_detection.*`) and circuit breakers (`circuit_breakers.<priority>.*`). */
function reportLimits(sink: StatSink, p: string, c: Cluster): void {
  const od = c.outlierDetector;
  if (od) {
    const s = od.stats as unknown as Readonly<Record<string, number>>;
    for (const k of Object.keys(s)) {
      if (k === 'ejections_active') sink.gauge(`${p}outlier_detection.${k}`, s[k]!, true);
      else sink.counter(`${p}outlier_detection.${k}`, s[k]!, s[k]! > 0);
    }
  }
  sink.gauge(`${p}upstream_rq_pending_active`, c.pendingRequests, true);
  c.resources[0].report((name, v) => sink.gauge(`${p}circuit_breakers.default.${name}`, v, true));
  c.resources[1].report((name, v) => sink.gauge(`${p}circuit_breakers.high.${name}`, v, true));
}

/** Reads a counter the cluster may or may not keep (the health-check work adds some): 0 if absent. */
function own(s: ClusterStats, k: string): number {
  return (s as unknown as Readonly<Record<string, number | undefined>>)[k] ?? 0;
}

/** Anything that lists the live clusters (the ClusterManager). */
export interface ClusterSource {
  all(): readonly Cluster[];
}

/**
 * Finds the scope of a cluster object. Scopes are per observability name (`alt_stat_name` or
 * name), as Envoy's cluster stat scope is.
 */
export class ClusterStatsRegistry {
  private readonly byObject = new WeakMap<Cluster, ClusterScope>();
  private readonly byName = new Map<string, ClusterScope>();

  /** The scope of `cluster`; cached per object, so each request pays one WeakMap lookup. */
  scopeOf(cluster: Cluster): ClusterScope {
    let s = this.byObject.get(cluster);
    if (!s) {
      const name = cluster.model.observabilityName;
      s = this.byName.get(name);
      if (!s) this.byName.set(name, (s = new ClusterScope(name)));
      this.byObject.set(cluster, s);
    }
    return s;
  }

  /** Registers the `cluster.*` source: live clusters only (Envoy drops a removed cluster's stats). */
  attach(store: StatsStore, clusters: ClusterSource): void {
    store.addSource((sink) => {
      const live = new Set<string>();
      for (const c of clusters.all()) {
        live.add(c.model.observabilityName);
        this.scopeOf(c).report(sink, c);
      }
      for (const name of this.byName.keys()) if (!live.has(name)) this.byName.delete(name);
    });
  }
}

let registry: ClusterStatsRegistry | undefined;

/** The process' cluster stats registry. */
export function clusterStats(): ClusterStatsRegistry {
  return (registry ??= new ClusterStatsRegistry());
}
