/**
 * Circuit breakers: Envoy's per-cluster, per-priority ResourceManager
 * (source/common/upstream/resource_manager_impl.h). Each resource is a count of what is open
 * now and a limit; `canCreate()` is `count < max`. A cluster has one manager per routing
 * priority (DEFAULT, HIGH); the route's `priority` picks which one a request charges.
 *
 * What each limit bounds (as Envoy's connection pools charge them):
 * - connections: upstream connections of the cluster (all hosts). A host's pool with no
 *   connection may still open one past the limit, so queued requests never starve
 *   (conn_pool_base.cc tryCreateNewConnection); every refusal counts `upstream_cx_overflow`.
 * - pendingRequests: requests waiting for a connection or a stream slot.
 * - requests: requests in flight on the cluster.
 * - retries: retries in back-off or in flight (or the retry_budget's share of active requests).
 */
import type { CircuitBreakerThresholdsModel } from '../snapshot/model';
import type { PendingLimit } from './pending-slot';
import type { SharedConnectionLimit } from './pool/h2-host-pool';

/** The cluster counters a breaker charges when it refuses. */
export interface OverflowStats {
  upstream_rq_pending_overflow: number;
  upstream_rq_pending_total: number;
  upstream_cx_overflow: number;
}

export class Resource {
  count = 0;
  constructor(readonly max: number) {}

  canCreate(): boolean {
    return this.count < this.max;
  }

  /** `remaining_*`: what is left before the breaker opens. */
  get remaining(): number {
    return Math.max(0, this.max - this.count);
  }
}

/** The retries resource: a fixed max_retries, or a budget over active and pending requests. */
export class RetryResource extends Resource {
  constructor(
    max: number,
    private readonly budget: CircuitBreakerThresholdsModel['retryBudget'],
    private readonly rm: ResourceManager,
  ) {
    super(max);
  }

  /** Envoy's RetryBudgetImpl::max(): max(budget% of active + pending requests, min_retry_concurrency). */
  get effectiveMax(): number {
    const b = this.budget;
    if (!b) return this.max;
    const active = this.rm.requests.count + this.rm.pendingRequests.count;
    return Math.max(Math.floor((b.budgetPercent / 100) * active), b.minRetryConcurrency);
  }

  override canCreate(): boolean {
    return this.count < this.effectiveMax;
  }

  override get remaining(): number {
    return Math.max(0, this.effectiveMax - this.count);
  }
}

export class ResourceManager implements PendingLimit, SharedConnectionLimit {
  readonly connections: Resource;
  readonly pendingRequests: Resource;
  readonly requests: Resource;
  readonly retries: RetryResource;
  readonly trackRemaining: boolean;

  constructor(t: CircuitBreakerThresholdsModel, private readonly openConnections: () => number, private readonly stats: OverflowStats) {
    this.connections = new Resource(t.maxConnections);
    this.pendingRequests = new Resource(t.maxPendingRequests);
    this.requests = new Resource(t.maxRequests);
    this.retries = new RetryResource(t.maxRetries, t.retryBudget, this);
    this.trackRemaining = t.trackRemaining;
  }

  /** Connections are counted live over the cluster's pools (no counter to drift); a refusal counts `upstream_cx_overflow`. */
  canConnect(): boolean {
    this.connections.count = this.openConnections();
    if (this.connections.canCreate()) return true;
    this.stats.upstream_cx_overflow++;
    return false;
  }

  /** A request starts waiting for a stream: `upstream_rq_pending_overflow` when the breaker is open. */
  tryPend(): boolean {
    if (!this.pendingRequests.canCreate()) {
      this.stats.upstream_rq_pending_overflow++;
      return false;
    }
    this.pendingRequests.count++;
    this.stats.upstream_rq_pending_total++;
    return true;
  }

  unpend(): void {
    this.pendingRequests.count--;
  }

  /**
   * A request is about to go upstream: takes a max_requests slot, or counts the overflow under
   * `upstream_rq_pending_overflow` as Envoy's attachStreamToClient does.
   */
  tryRequest(): boolean {
    if (!this.requests.canCreate()) {
      this.stats.upstream_rq_pending_overflow++;
      return false;
    }
    this.requests.count++;
    return true;
  }

  /**
   * The `circuit_breakers.<priority>.` gauges: `*_open` is 1 while the breaker refuses,
   * `remaining_*` only with track_remaining. `cx_pool_open` is always 0: max_connection_pools
   * is not implemented (unlimited, Envoy's default), so `remaining_cx_pools` is not published.
   */
  report(gauge: (name: string, value: number) => void): void {
    this.connections.count = this.openConnections();
    gauge('cx_open', this.connections.canCreate() ? 0 : 1);
    gauge('cx_pool_open', 0);
    gauge('rq_pending_open', this.pendingRequests.canCreate() ? 0 : 1);
    gauge('rq_open', this.requests.canCreate() ? 0 : 1);
    gauge('rq_retry_open', this.retries.canCreate() ? 0 : 1);
    if (this.trackRemaining) {
      gauge('remaining_cx', this.connections.remaining);
      gauge('remaining_pending', this.pendingRequests.remaining);
      gauge('remaining_rq', this.requests.remaining);
      gauge('remaining_retries', this.retries.remaining);
    }
  }
}
