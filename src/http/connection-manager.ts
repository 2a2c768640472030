import type { IncomingHttpHeaders } from 'node:http2';
import { AccessLogger } from '../access-log/access-logger';
import { randomUuid } from '../common/uuid';
import { RouteTable } from '../router/route-table';
import type { HttpConnectionManagerModel, ListenerModel, RouteConfigModel } from '../snapshot/model';
import { istioMetrics } from '../stats/istio/istio-metrics';
import { IstioStatsRecorder } from '../stats/istio/istio-recorder';
import { statsStore } from '../stats/store';
import type { ClusterManager } from '../upstream/cluster-manager';
import { hcmRqTime, hcmStats, type Histogram } from '../stats';
import type { Downstream } from './downstream';
import { compileFilterChain } from './filters/filter-chain';
import type { HttpFilterChain } from './filters/http-filter';
import { ProxyStream } from './proxy-stream';
import type { StreamInfo } from './stream-info';

/** Counters of one HTTP connection manager (`http.<stat_prefix>.*`). */
export interface HcmStats {
  downstream_cx_total: number;
  downstream_cx_active: number;
  downstream_cx_destroy: number;
  downstream_cx_http1_total: number;
  downstream_cx_http2_total: number;
  downstream_rq_total: number;
  downstream_rq_active: number;
  downstream_rq_http1_total: number;
  downstream_rq_http2_total: number;
  downstream_rq_completed: number;
  downstream_rq_rx_reset: number;
  downstream_rq_tx_reset: number;
  downstream_rq_timeout: number;
  downstream_rq_idle_timeout: number;
  downstream_rq_1xx: number;
  downstream_rq_2xx: number;
  downstream_rq_3xx: number;
  downstream_rq_4xx: number;
  downstream_rq_5xx: number;
  no_route: number;
  no_cluster: number;
  downstream_cx_protocol_error: number;
  downstream_rq_too_many_premature_resets: number;
  downstream_rq_overload_close: number;
}

/**
 * Runtime of one HttpConnectionManager: its compiled route table, access loggers and
 * the stats every stream records into. Immutable once built; a config change builds
 * a new one and streams in flight keep the one they started with.
 */
export class HttpConnectionManager {
  readonly routes: RouteTable;
  readonly accessLoggers: AccessLogger[];
  /** The HTTP filters ahead of the router, compiled once. */
  readonly filters: HttpFilterChain;
  /** Shared by every manager with this stat_prefix (stats live in the store by name, as Envoy's). */
  readonly stats: HcmStats;
  /** `http.<stat_prefix>.downstream_rq_time`. */
  private readonly rqTime: Histogram;
  /** Istio's standard metrics, when the chain has Istio's stats filter. */
  readonly istioStats: IstioStatsRecorder | undefined;
  /**
   * Streams in flight, swept once a second for the stream idle timeout: an intrusive list
   * through the streams themselves (as Envoy's), so starting and ending one allocates nothing.
   */
  private activeHead: ProxyStream | undefined;
  activeCount = 0;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    readonly model: HttpConnectionManagerModel,
    readonly routeConfig: RouteConfigModel,
    readonly clusters: ClusterManager,
    flushIntervalMs: number,
    /** The listener's traffic_direction: decides Istio's `reporter`. */
    direction?: ListenerModel['trafficDirection'],
  ) {
    this.stats = hcmStats(model.statPrefix);
    if (model.istioStats) {
      const metrics = istioMetrics();
      metrics.attach(statsStore());
      metrics.recordBuild();
      this.istioStats = new IstioStatsRecorder(model.istioStats, direction, clusters, metrics);
    }
    this.rqTime = hcmRqTime(model.statPrefix);
    this.routes = new RouteTable(routeConfig);
    this.accessLoggers = model.accessLogs.map((m) => new AccessLogger(m, flushIntervalMs));
    this.filters = compileFilterChain(model.httpFilters ?? [], { clusters });
    if (model.streamIdleTimeoutMs > 0) {
      this.sweeper = setInterval(this.sweepIdle, Math.min(1000, model.streamIdleTimeoutMs));
      this.sweeper.unref();
    }
  }

  /** Entry point for every downstream request. */
  handle(ds: Downstream): void {
    const s = this.stats;
    s.downstream_rq_total++;
    if (ds.protocol === 'HTTP/2') s.downstream_rq_http2_total++;
    else s.downstream_rq_http1_total++;
    new ProxyStream(this, ds).start();
  }

  /** Applies Envoy's request-id rules (x-request-id generated when absent). */
  requestId(headers: IncomingHttpHeaders): void {
    if (!this.model.generateRequestId) return;
    if (headers['x-request-id'] === undefined) headers['x-request-id'] = randomUuid();
  }

  /** A stream started. */
  addActive(st: ProxyStream): void {
    const head = this.activeHead;
    st.nextActive = head;
    st.prevActive = undefined;
    if (head !== undefined) head.prevActive = st;
    this.activeHead = st;
    this.activeCount++;
  }

  /** A stream ended (called once per stream added). */
  removeActive(st: ProxyStream): void {
    const { prevActive: prev, nextActive: next } = st;
    if (prev !== undefined) prev.nextActive = next;
    else this.activeHead = next;
    if (next !== undefined) next.prevActive = prev;
    st.prevActive = undefined;
    st.nextActive = undefined;
    this.activeCount--;
  }

  /** Called by a stream when it is over. */
  completed(info: StreamInfo): void {
    const s = this.stats;
    s.downstream_rq_completed++;
    const c = info.responseCode;
    if (c >= 500) s.downstream_rq_5xx++;
    else if (c >= 400) s.downstream_rq_4xx++;
    else if (c >= 300) s.downstream_rq_3xx++;
    else if (c >= 200) s.downstream_rq_2xx++;
    else if (c >= 100) s.downstream_rq_1xx++;
    this.rqTime.record(info.lastDownstreamTxByteMs >= 0 ? info.lastDownstreamTxByteMs : info.elapsedMs());
    this.istioStats?.record(info);
    for (const l of this.accessLoggers) l.log(info);
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.filters.destroy();
  }

  /**
   * Replaced by a newer config: stop sweeping once the streams that pinned this
   * manager are done (they keep using it until they finish).
   */
  retire(): void {
    if (this.activeCount === 0) {
      this.close();
      return;
    }
    const check = setInterval(() => {
      if (this.activeCount === 0) {
        clearInterval(check);
        this.close();
      }
    }, 1000);
    check.unref();
  }

  private readonly sweepIdle = (): void => {
    const now = performance.now();
    const limit = this.model.streamIdleTimeoutMs;
    // A route's own idle_timeout replaces this one for its streams (they time themselves).
    for (let st = this.activeHead; st !== undefined;) {
      // Read the next one first: timing out `st` takes it off the list.
      const next = st.nextActive;
      if (st.idleTimeoutOverrideMs === undefined && now - st.lastActivity > limit) st.onIdleTimeout();
      st = next;
    }
  };
}
