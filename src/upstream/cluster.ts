import { lookup } from 'node:dns/promises';
import type { ClusterModel, EndpointModel, SocketAddress } from '../snapshot/model';
import { formatAddress } from '../snapshot/model';
import { logger } from '../common/logger';
import { Host } from './host';
import { OriginalDstHosts } from './original-dst-hosts';
import { ClusterPicker } from './pickers/cluster-picker';
import { EMPTY_PICKER, type PickContext, type Picker } from './pickers/types';
import type { ClusterHealthChecker, HealthCheckerOptions } from '../health/health-checker';
import { HealthFlag } from '../health/health-flags';
import type { HealthCheckedHost, HealthState, HealthTransition } from '../health/types';
import { ResourceManager } from './circuit-breakers';
import { OutlierDetector } from './outlier-detector';

/** The active health checker (and its probers) is loaded with the first cluster that has health_checks. */
let healthCheckers: typeof import('../health/health-checker') | undefined;
function healthCheckerModule(): typeof import('../health/health-checker') {
  return (healthCheckers ??= require('../health/health-checker') as typeof import('../health/health-checker'));
}

const log = logger('upstream');

/** Per-cluster counters (Envoy names; rendered by the stats issue). */
export interface ClusterStats {
  upstream_rq_total: number;
  upstream_rq_active: number;
  upstream_rq_timeout: number;
  upstream_cx_none_healthy: number;
  upstream_rq_rx_reset: number;
  upstream_rq_tx_reset: number;
  upstream_rq_completed: number;
  membership_change: number;
  update_attempt: number;
  update_success: number;
  update_failure: number;
  /** Picks made while the cluster was in panic (healthy share below healthy_panic_threshold). */
  lb_healthy_panic: number;
  /** Circuit breakers: requests refused by max_pending_requests or max_requests; connections refused by max_connections. */
  upstream_rq_pending_overflow: number;
  upstream_rq_pending_total: number;
  upstream_cx_overflow: number;
}

/** How a cluster is built: test hooks for the health checker, and the `--concurrency` split. */
export interface ClusterOptions extends Pick<HealthCheckerOptions, 'clock' | 'random' | 'proberFactory'> {
  /** Builds the active health checker instead of a {@link HealthChecker} (worker processes: the primary checks). */
  readonly healthCheckerFactory?: (cluster: ClusterModel, options: HealthCheckerOptions) => ClusterHealthChecker;
  /** After every finished active check of a host (the primary broadcasts health to its workers). */
  readonly onHostChecked?: (cluster: Cluster, host: Host) => void;
}

/**
 * A cluster: its hosts (resolved from load_assignment, by DNS for STRICT_DNS and
 * LOGICAL_DNS) and the picker built from the usable ones. Host objects are keyed
 * by address and retained across updates.
 */
export class Cluster {
  private hosts = new Map<string, Host>();
  private picker: Picker = EMPTY_PICKER;
  private dnsTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly tlsWarned = new Set<string>();
  readonly stats: ClusterStats = {
    upstream_rq_total: 0, upstream_rq_active: 0, upstream_rq_timeout: 0, upstream_cx_none_healthy: 0,
    upstream_rq_rx_reset: 0, upstream_rq_tx_reset: 0, upstream_rq_completed: 0, membership_change: 0,
    update_attempt: 0, update_success: 0, update_failure: 0, lb_healthy_panic: 0,
    upstream_rq_pending_overflow: 0, upstream_rq_pending_total: 0, upstream_cx_overflow: 0,
  };
  /** Circuit breakers per routing priority: [DEFAULT, HIGH]. */
  readonly resources: readonly [ResourceManager, ResourceManager];
  /** Passive outlier detection, when the cluster has outlier_detection. */
  readonly outlierDetector: OutlierDetector | undefined;
  /** The active health checker, when the cluster has health_checks. */
  readonly healthChecker: ClusterHealthChecker | undefined;
  /** True while the current picker routes some traffic over all hosts of a level because too few are healthy. */
  private panic = false;
  /** Whether the first host list was applied (hosts after it are "new" in Envoy's sense). */
  private initialHostsApplied = false;
  /** Initial hosts whose first health check has not finished (cluster warming waits for them). */
  private awaitingFirstCheck = new Set<HealthCheckedHost>();
  private hcWarmed: (() => void) | undefined;
  /** ORIGINAL_DST clusters: the hosts made from original destinations (the cluster has no picker). */
  readonly originalDst: OriginalDstHosts | undefined;
  /** Resolves once the first host list is known (immediately for STATIC; after the first DNS answer otherwise). */
  readonly initialized: Promise<void>;
  private markInitialized!: () => void;

  /** True once `initialized` has resolved (read synchronously by cluster warming). */
  isInitialized = false;

  constructor(public model: ClusterModel, private readonly options: ClusterOptions = {}) {
    this.initialized = new Promise((resolve) => (this.markInitialized = () => { this.isInitialized = true; resolve(); }));
    const openConnections = (): number => this.openConnections();
    this.resources = [
      new ResourceManager(model.circuitBreakers, openConnections, this.stats),
      new ResourceManager(model.circuitBreakersHigh, openConnections, this.stats),
    ];
    if (model.outlierDetection) {
      this.outlierDetector = new OutlierDetector(model.outlierDetection, { onChange: () => { if (!this.stopped) this.rebuildPicker(); } });
      this.outlierDetector.start();
    }
    if (model.healthCheck) {
      const { healthCheckerFactory, onHostChecked: _, ...hcOptions } = options;
      const hcFullOptions: HealthCheckerOptions = {
        ...hcOptions,
        clusterName: model.name,
        hasTraffic: () => this.hasTraffic(),
        onCheckComplete: (host, transition, result) => this.onHostCheckComplete(host as Host, transition, result),
      };
      this.healthChecker = healthCheckerFactory ? healthCheckerFactory(model, hcFullOptions) : new (healthCheckerModule().HealthChecker)(model.healthCheck, hcFullOptions);
    }
    this.originalDst = model.originalDst ? new OriginalDstHosts(() => this.model, model.originalDst) : undefined;
    if (model.type === 'ORIGINAL_DST') {
      this.markInitialized();
    } else if (model.type === 'STATIC' || model.type === 'EDS') {
      this.setEndpoints(model.endpoints.map((e) => ({ e, address: e.address })));
      this.markInitializedAfterHealthChecks();
    } else {
      void this.resolve();
    }
  }

  get name(): string {
    return this.model.name;
  }

  /**
   * Picks a host for one request. `ctx.hash` is the route's hash_policy result (RING_HASH,
   * MAGLEV); without one those policies pick at random. Counts lb_healthy_panic per pick
   * that lands on a level in panic.
   */
  pick(ctx?: PickContext): Host | undefined {
    return this.picker.pick(ctx);
  }

  /** The current picker (tests and admin: priority load, panic). */
  get currentPicker(): Picker {
    return this.picker;
  }

  /** Envoy's `upstream_cx_total.used()`: the data path has connected (health checks do not count). */
  hasTraffic(): boolean {
    if (this.stats.upstream_rq_total > 0) return true;
    for (const h of this.hosts.values()) if (h.stats.cx_total > 0) return true;
    return false;
  }

  /** Upstream HTTP/2 connections of every host (the max_connections circuit breaker's count). */
  openConnections(): number {
    let n = 0;
    for (const h of this.hosts.values()) n += h.h2Connections;
    return n;
  }

  /** Pending requests across both priorities (`upstream_rq_pending_active`). */
  get pendingRequests(): number {
    return this.resources[0].pendingRequests.count + this.resources[1].pendingRequests.count;
  }

  /** Whether the current picker is in panic (routes over unhealthy hosts too). */
  get inPanic(): boolean {
    return this.panic;
  }

  /**
   * New endpoints for a retained cluster (an EDS update, or a STATIC cluster whose
   * load_assignment changed): hosts still present keep their connections.
   */
  updateEndpoints(model: ClusterModel): void {
    const endpoints = model.endpoints;
    this.model = model;
    if (model.type !== 'STATIC' && model.type !== 'EDS') return;
    this.stats.update_attempt++;
    this.setEndpoints(endpoints.map((e) => ({ e, address: e.address })));
    this.stats.update_success++;
  }

  allHosts(): Host[] {
    return this.originalDst ? this.originalDst.all() : [...this.hosts.values()];
  }

  stop(): void {
    this.stopped = true;
    if (this.dnsTimer) clearTimeout(this.dnsTimer);
    this.healthChecker?.stop();
    this.originalDst?.stop();
    this.outlierDetector?.stop();
    for (const h of this.hosts.values()) h.drain();
  }

  /** Closes every connection now (process exit). */
  destroy(): void {
    this.stop();
    for (const h of this.allHosts()) h.close();
  }

  private setEndpoints(list: Array<{ e: EndpointModel; address: SocketAddress }>): void {
    const next = new Map<string, Host>();
    const added: Host[] = [];
    const removed: Host[] = [];
    const hc = this.healthChecker;
    // Envoy: only a STATIC cluster's first hosts are "initial" (StaticClusterImpl::startPreInit);
    // every later host, and every DNS/EDS host, goes through updateDynamicHostList.
    const dynamic = this.initialHostsApplied || this.model.type !== 'STATIC';
    for (const { e, address } of list) {
      const key = formatAddress(address);
      if (next.has(key)) continue;
      const existing = this.hosts.get(key);
      if (existing) {
        existing.updateEndpoint(e);
        existing.healthFlagClear(HealthFlag.PENDING_DYNAMIC_REMOVAL);
        next.set(key, existing);
      } else {
        const h = new Host(address, e, this.model, this.resources[0]);
        if (hc) {
          // A health-checked host starts unhealthy until its first check passes; with
          // ignore_new_hosts_until_first_hc a new host is also excluded until then
          // (upstream_impl.cc updateDynamicHostList / startPreInit).
          h.healthFlagSet(HealthFlag.FAILED_ACTIVE_HC);
          if (dynamic && this.model.ignoreNewHostsUntilFirstHc) h.healthFlagSet(HealthFlag.PENDING_ACTIVE_HC);
          if (!this.initialHostsApplied) this.awaitingFirstCheck.add(h);
        }
        next.set(key, h);
        added.push(h);
      }
    }
    for (const [key, h] of this.hosts) {
      if (next.has(key)) continue;
      // With active health checking, a host that discovery dropped but that still passes its
      // checks stays (flagged /pending_dynamic_removal) until it fails one, unless
      // ignore_health_on_host_removal (service_discovery.rst, "on eventually consistent service discovery").
      if (hc && !this.model.ignoreHealthOnHostRemoval && !h.healthFlagGet(HealthFlag.FAILED_ACTIVE_HC | HealthFlag.FAILED_EDS_HEALTH)) {
        h.healthFlagSet(HealthFlag.PENDING_DYNAMIC_REMOVAL);
        next.set(key, h);
        continue;
      }
      removed.push(h);
    }
    if (added.length || removed.length) this.stats.membership_change++;
    this.hosts = next;
    this.initialHostsApplied = true;
    for (const h of removed) h.drain();
    this.outlierDetector?.removeHosts(removed);
    this.outlierDetector?.addHosts(added);
    if (hc) {
      hc.removeHosts(removed);
      hc.addHosts(added);
    }
    this.rebuildPicker();
  }

  // === Health ===

  /** Resolves `initialized` once every initial host had its first health check (Envoy's cluster warming). */
  private markInitializedAfterHealthChecks(): void {
    if (this.awaitingFirstCheck.size === 0) {
      this.markInitialized();
      return;
    }
    this.hcWarmed = () => this.markInitialized();
  }

  private onHostCheckComplete(host: Host, transition: HealthTransition, result: HealthState): void {
    // successful_active_health_check_uneject_host: a passing check ends an outlier ejection.
    if (result === 'Healthy') this.outlierDetector?.onHealthCheckSuccess(host);
    if (this.awaitingFirstCheck.delete(host) && this.awaitingFirstCheck.size === 0 && this.hcWarmed) {
      const warmed = this.hcWarmed;
      this.hcWarmed = undefined;
      warmed();
    }
    if (!this.stopped) this.options.onHostChecked?.(this, host);
    if (transition !== 'Changed' || this.stopped) return;
    if (host.healthFlagGet(HealthFlag.FAILED_ACTIVE_HC) && host.healthFlagGet(HealthFlag.PENDING_DYNAMIC_REMOVAL) && this.hosts.get(host.key) === host) {
      // Kept only because it passed its checks; now it fails them, so it goes.
      this.hosts.delete(host.key);
      this.stats.membership_change++;
      this.healthChecker?.removeHosts([host]);
      host.drain();
    }
    this.rebuildPicker();
  }

  /**
   * A new picker over the hosts that may take traffic: not excluded (/pending_active_hc,
   * /eds_status_draining...) and reachable in plaintext. Priority load (with the
   * overprovisioning factor), per-level panic, degraded hosts and locality weights are
   * Envoy's (see pickers/cluster-picker.ts). With no available host anywhere every level is
   * in panic and traffic spreads over all non-excluded hosts by count, unless the threshold is 0.
   */
  private rebuildPicker(): void {
    const candidates: Host[] = [];
    for (const h of this.hosts.values()) {
      if (h.excluded) continue;
      if (!h.plaintextAllowed) {
        // Fail closed: an endpoint that must be reached over TLS is never sent plaintext.
        if (!this.tlsWarned.has(h.key)) {
          this.tlsWarned.add(h.key);
          log.warn(`cluster ${this.model.name}: endpoint ${h.key} requires TLS (transport socket match "${h.transportSocketMatch?.name}"), which Legate does not implement; it is left out of load balancing`);
        }
        continue;
      }
      candidates.push(h);
    }
    if (candidates.length === 0) {
      this.panic = false;
      this.picker = EMPTY_PICKER;
      return;
    }
    const picker = new ClusterPicker(candidates, {
      policy: this.model.lbPolicy,
      config: this.model.lbConfig,
      panicThresholdPercent: this.model.healthyPanicThresholdPercent,
    }, this.stats);
    this.panic = picker.inPanic;
    this.picker = picker;
  }

  // === DNS ===

  private async resolve(): Promise<void> {
    if (this.stopped) return;
    const m = this.model;
    this.stats.update_attempt++;
    const family = m.dnsLookupFamily === 'V4_ONLY' ? 4 : m.dnsLookupFamily === 'V6_ONLY' ? 6 : 0;
    const resolved: Array<{ e: EndpointModel; address: SocketAddress }> = [];
    let failed = false;
    for (const e of m.endpoints) {
      if (e.address.kind !== 'tcp') {
        resolved.push({ e, address: e.address });
        continue;
      }
      try {
        let addrs = await lookup(e.address.host, { all: true, family });
        if (m.dnsLookupFamily === 'V4_PREFERRED' || m.dnsLookupFamily === 'AUTO') {
          // AUTO prefers IPv6 in Envoy; V4_PREFERRED prefers IPv4. Keep the preferred family if present.
          const want = m.dnsLookupFamily === 'AUTO' ? 6 : 4;
          const preferred = addrs.filter((a) => a.family === want);
          if (preferred.length) addrs = preferred;
        }
        const picked = m.type === 'LOGICAL_DNS' ? addrs.slice(0, 1) : addrs;
        for (const a of picked) resolved.push({ e, address: { kind: 'tcp', host: a.address, port: e.address.port } });
      } catch (err) {
        failed = true;
        log.warn(`cluster ${m.name}: DNS resolution of ${e.address.host} failed: ${(err as Error).message}`);
      }
    }
    if (this.stopped) return;
    if (failed && resolved.length === 0) {
      // Keep the previous hosts on failure, as Envoy does.
      this.stats.update_failure++;
    } else {
      this.stats.update_success++;
      this.setEndpoints(resolved);
    }
    // The first answer's hosts hold the cluster until their first health check (as STATIC/EDS).
    this.markInitializedAfterHealthChecks();
    this.dnsTimer = setTimeout(() => void this.resolve(), m.dnsRefreshRateMs);
    this.dnsTimer.unref();
  }
}
