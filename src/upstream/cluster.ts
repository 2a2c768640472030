import { lookup } from 'node:dns/promises';
import type { ClusterModel, EndpointModel, SocketAddress } from '../snapshot/model';
import { formatAddress } from '../snapshot/model';
import { logger } from '../common/logger';
import { Host } from './host';
import { EMPTY_PICKER, LeastRequestPicker, RandomPicker, RoundRobinPicker, type Picker } from './picker';
import { HealthChecker, type HealthCheckerOptions } from '../health/health-checker';
import { HealthFlag } from '../health/health-flags';
import type { HealthCheckedHost, HealthTransition } from '../health/types';

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
}

/** Envoy's default overprovisioning factor (140%), used to decide whether panic is evaluated. */
const OVERPROVISIONING_FACTOR = 1.4;

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
  };
  /** The active health checker, when the cluster has health_checks. */
  readonly healthChecker: HealthChecker | undefined;
  /** True while the current picker routes over all hosts because too few are healthy. */
  private panic = false;
  /** Whether the first host list was applied (hosts after it are "new" in Envoy's sense). */
  private initialHostsApplied = false;
  /** Initial hosts whose first health check has not finished (cluster warming waits for them). */
  private awaitingFirstCheck = new Set<HealthCheckedHost>();
  private hcWarmed: (() => void) | undefined;
  /** Resolves once the first host list is known (immediately for STATIC; after the first DNS answer otherwise). */
  readonly initialized: Promise<void>;
  private markInitialized!: () => void;

  constructor(public model: ClusterModel, hcOptions?: Pick<HealthCheckerOptions, 'clock' | 'random' | 'proberFactory'>) {
    this.initialized = new Promise((resolve) => (this.markInitialized = resolve));
    if (model.healthCheck) {
      this.healthChecker = new HealthChecker(model.healthCheck, {
        ...hcOptions,
        clusterName: model.name,
        hasTraffic: () => this.hasTraffic(),
        onCheckComplete: (host, transition) => this.onHostCheckComplete(host as Host, transition),
      });
    }
    if (model.type === 'STATIC' || model.type === 'EDS') {
      this.setEndpoints(model.endpoints.map((e) => ({ e, address: e.address })));
      this.markInitializedAfterHealthChecks();
    } else {
      void this.resolve();
    }
  }

  get name(): string {
    return this.model.name;
  }

  /** Picks a host for one request. */
  pick(): Host | undefined {
    if (this.panic) this.stats.lb_healthy_panic++;
    return this.picker.pick();
  }

  /** Envoy's `upstream_cx_total.used()`: the data path has connected (health checks do not count). */
  hasTraffic(): boolean {
    if (this.stats.upstream_rq_total > 0) return true;
    for (const h of this.hosts.values()) if (h.stats.cx_total > 0) return true;
    return false;
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
    return [...this.hosts.values()];
  }

  stop(): void {
    this.stopped = true;
    if (this.dnsTimer) clearTimeout(this.dnsTimer);
    this.healthChecker?.stop();
    for (const h of this.hosts.values()) h.drain();
  }

  /** Closes every connection now (process exit). */
  destroy(): void {
    this.stop();
    for (const h of this.hosts.values()) h.close();
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
        const h = new Host(address, e, this.model);
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

  private onHostCheckComplete(host: Host, transition: HealthTransition): void {
    if (this.awaitingFirstCheck.delete(host) && this.awaitingFirstCheck.size === 0 && this.hcWarmed) {
      const warmed = this.hcWarmed;
      this.hcWarmed = undefined;
      warmed();
    }
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
   * A new picker over the hosts that may take traffic. Per priority level (Envoy's
   * LoadBalancerBase, simplified to one active level): excluded hosts (/pending_active_hc,
   * /eds_status_draining...) never count; the lowest level with a healthy or degraded host is
   * used; healthy hosts are preferred over degraded ones; and when the available share of the
   * level is below healthy_panic_threshold (and, as in Envoy, the level's overprovisioned health
   * is under 100%) the level is in panic and every host of it is used. With no available host
   * at all, panic spreads traffic over every non-excluded host (all levels panic), unless the
   * threshold is 0.
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
    const threshold = this.model.healthyPanicThresholdPercent;
    const available = candidates.filter((h) => h.coarseHealth !== 'unhealthy');
    let level: Host[];
    this.panic = false;
    if (available.length === 0) {
      this.panic = threshold > 0 && candidates.length > 0;
      level = this.panic ? candidates : [];
    } else {
      // Lowest priority level with an available host (priority failover proper comes with the LB issue).
      const minPriority = available.reduce((m, h) => Math.min(m, h.priority), Infinity);
      const all = candidates.filter((h) => h.priority === minPriority);
      const avail = available.filter((h) => h.priority === minPriority);
      const availablePercent = (100 * avail.length) / all.length;
      if (availablePercent * OVERPROVISIONING_FACTOR < 100 && availablePercent < threshold) {
        this.panic = true;
        level = all;
      } else {
        const healthy = avail.filter((h) => h.coarseHealth === 'healthy');
        level = healthy.length ? healthy : avail;
      }
    }
    switch (this.model.lbPolicy) {
      case 'LEAST_REQUEST': this.picker = new LeastRequestPicker(level, this.model.leastRequestChoiceCount); break;
      case 'RANDOM': this.picker = new RandomPicker(level); break;
      default: this.picker = new RoundRobinPicker(level);
    }
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
    this.markInitialized();
    this.dnsTimer = setTimeout(() => void this.resolve(), m.dnsRefreshRateMs);
    this.dnsTimer.unref();
  }
}
