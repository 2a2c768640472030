/**
 * Active health checking in a `--concurrency` worker: the primary runs the checkers (once, as
 * Envoy's main thread does) and sends each host's result; a worker's clusters take the flags
 * from here instead of probing. A result can arrive before the snapshot that adds its host (or
 * a worker can start after the checks ran), so results are kept by cluster, config and host,
 * and applied when the host appears.
 */
import type { ClusterHealthChecker, HealthCheckerOptions } from '../health/health-checker';
import { HealthFlag } from '../health/health-flags';
import { newHealthCheckerStats, type HealthCheckedHost } from '../health/types';
import type { HostHealthUpdate } from './messages';

/** The flags an active health checker owns (everything else is the worker's own: EDS, outlier, removal). */
export const ACTIVE_HC_FLAGS = HealthFlag.FAILED_ACTIVE_HC | HealthFlag.DEGRADED_ACTIVE_HC | HealthFlag.PENDING_ACTIVE_HC
  | HealthFlag.ACTIVE_HC_TIMEOUT | HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL;

const key = (cluster: string, clusterHash: string): string => `${cluster}\u0000${clusterHash}`;

/** The worker's table of results and the checkers of its live clusters. */
export class RemoteHealth {
  /** cluster+hash → host key → flags. */
  private readonly results = new Map<string, Map<string, number>>();
  private readonly checkers = new Map<string, Set<RemoteHealthChecker>>();

  constructor(private readonly reportImmediateFailure: (cluster: string, clusterHash: string, host: string) => void) {}

  /** ClusterOptions.healthCheckerFactory: a checker fed by the primary's results for this cluster config. */
  readonly factory = (cluster: { readonly hash: string }, options: HealthCheckerOptions): ClusterHealthChecker => {
    return new RemoteHealthChecker(this, options, cluster.hash);
  };

  apply(updates: readonly HostHealthUpdate[]): void {
    for (const u of updates) {
      const k = key(u.cluster, u.clusterHash);
      let byHost = this.results.get(k);
      if (!byHost) this.results.set(k, (byHost = new Map()));
      byHost.set(u.host, u.flags);
      for (const c of this.checkers.get(k) ?? []) c.onResult(u.host, u.flags);
    }
  }

  /** Forgets the results of clusters no longer configured (`live`: cluster+hash keys). */
  retain(live: ReadonlyArray<{ readonly name: string; readonly hash: string }>): void {
    const keep = new Set(live.map((c) => key(c.name, c.hash)));
    for (const k of this.results.keys()) if (!keep.has(k)) this.results.delete(k);
  }

  /** @internal */
  resultOf(cluster: string, clusterHash: string, host: string): number | undefined {
    return this.results.get(key(cluster, clusterHash))?.get(host);
  }

  /** @internal */
  register(c: RemoteHealthChecker, add: boolean): void {
    const k = key(c.clusterName, c.clusterHash);
    let set = this.checkers.get(k);
    if (add) {
      if (!set) this.checkers.set(k, (set = new Set()));
      set.add(c);
    } else if (set) {
      set.delete(c);
      if (set.size === 0) this.checkers.delete(k);
    }
  }

  /** @internal */
  immediateFailure(c: RemoteHealthChecker, host: string): void {
    this.reportImmediateFailure(c.clusterName, c.clusterHash, host);
  }
}

/** A cluster's health checker in a worker: results come from the primary. */
class RemoteHealthChecker implements ClusterHealthChecker {
  /** The primary reports health_check.* (the checks run there); a worker's stay 0. */
  readonly stats = newHealthCheckerStats();
  readonly clusterName: string;
  private readonly hosts = new Map<string, HealthCheckedHost>();

  constructor(private readonly table: RemoteHealth, private readonly options: HealthCheckerOptions, readonly clusterHash: string) {
    this.clusterName = options.clusterName;
    table.register(this, true);
  }

  get hostCount(): number {
    return this.hosts.size;
  }

  addHosts(hosts: Iterable<HealthCheckedHost>): void {
    for (const h of hosts) {
      if (this.hosts.has(h.key)) continue;
      this.hosts.set(h.key, h);
      const flags = this.table.resultOf(this.clusterName, this.clusterHash, h.key);
      if (flags !== undefined) this.onResult(h.key, flags);
    }
  }

  removeHosts(hosts: Iterable<HealthCheckedHost>): void {
    for (const h of hosts) {
      if (this.hosts.get(h.key) !== h) continue;
      this.hosts.delete(h.key);
      // As a stopped session does: whoever waits for this host's first check must not wait forever.
      this.options.onCheckComplete(h, 'Unchanged', h.healthFlagGet(HealthFlag.FAILED_ACTIVE_HC) ? 'Unhealthy' : 'Healthy');
    }
  }

  stop(): void {
    this.table.register(this, false);
    this.removeHosts([...this.hosts.values()]);
  }

  immediateFailure(host: HealthCheckedHost): void {
    if (this.hosts.get(host.key) !== host) return;
    this.table.immediateFailure(this, host.key);
  }

  /** The primary's flags for one host: set them, and tell the cluster (first result, or a change). */
  onResult(hostKey: string, flags: number): void {
    const h = this.hosts.get(hostKey);
    if (!h) return;
    let changed = false;
    for (let bit = 1; bit <= ACTIVE_HC_FLAGS; bit <<= 1) {
      if (!(ACTIVE_HC_FLAGS & bit)) continue;
      const want = (flags & bit) !== 0;
      if (want === h.healthFlagGet(bit)) continue;
      changed = true;
      if (want) h.healthFlagSet(bit);
      else h.healthFlagClear(bit);
    }
    this.options.onCheckComplete(h, changed ? 'Changed' : 'Unchanged', h.healthFlagGet(HealthFlag.FAILED_ACTIVE_HC) ? 'Unhealthy' : 'Healthy');
  }
}
