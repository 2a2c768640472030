import { lookup } from 'node:dns/promises';
import type { ClusterModel, EndpointModel, SocketAddress } from '../snapshot/model';
import { formatAddress } from '../snapshot/model';
import { logger } from '../common/logger';
import { Host } from './host';
import { EMPTY_PICKER, LeastRequestPicker, RandomPicker, RoundRobinPicker, type Picker } from './picker';

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
    update_attempt: 0, update_success: 0, update_failure: 0,
  };
  /** Resolves once the first host list is known (immediately for STATIC; after the first DNS answer otherwise). */
  readonly initialized: Promise<void>;
  private markInitialized!: () => void;

  constructor(public model: ClusterModel) {
    this.initialized = new Promise((resolve) => (this.markInitialized = resolve));
    if (model.type === 'STATIC' || model.type === 'EDS') {
      this.setEndpoints(model.endpoints.map((e) => ({ e, address: e.address })));
      this.markInitialized();
    } else {
      void this.resolve();
    }
  }

  get name(): string {
    return this.model.name;
  }

  /** Picks a host for one request. */
  pick(): Host | undefined {
    return this.picker.pick();
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
    for (const h of this.hosts.values()) h.drain();
  }

  /** Closes every connection now (process exit). */
  destroy(): void {
    this.stop();
    for (const h of this.hosts.values()) h.close();
  }

  private setEndpoints(list: Array<{ e: EndpointModel; address: SocketAddress }>): void {
    const next = new Map<string, Host>();
    for (const { e, address } of list) {
      const key = formatAddress(address);
      if (next.has(key)) continue;
      const existing = this.hosts.get(key);
      if (existing) {
        existing.updateEndpoint(e);
        next.set(key, existing);
      } else {
        next.set(key, new Host(address, e, this.model));
      }
    }
    let changed = next.size !== this.hosts.size;
    for (const key of next.keys()) if (!this.hosts.has(key)) changed = true;
    for (const [key, h] of this.hosts) {
      if (!next.has(key)) {
        h.drain();
        changed = true;
      }
    }
    if (changed) this.stats.membership_change++;
    this.hosts = next;
    this.rebuildPicker();
  }

  private rebuildPicker(): void {
    const usable: Host[] = [];
    for (const h of this.hosts.values()) {
      if (!h.healthy) continue;
      if (!h.plaintextAllowed) {
        // Fail closed: an endpoint that must be reached over TLS is never sent plaintext.
        if (!this.tlsWarned.has(h.key)) {
          this.tlsWarned.add(h.key);
          log.warn(`cluster ${this.model.name}: endpoint ${h.key} requires TLS (transport socket match "${h.transportSocketMatch?.name}"), which Legate does not implement; it is left out of load balancing`);
        }
        continue;
      }
      usable.push(h);
    }
    // Lowest priority level with a usable host (priority failover proper comes with the LB issue).
    const minPriority = usable.reduce((m, h) => Math.min(m, h.priority), Infinity);
    const level = usable.filter((h) => h.priority === minPriority);
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
