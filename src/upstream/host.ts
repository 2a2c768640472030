import type { NetConnectOpts } from 'node:net';
import type { Pool as UndiciPool } from 'undici';
import type { ClusterModel, EndpointModel, SocketAddress, TransportSocketMatchModel } from '../snapshot/model';
import { formatAddress } from '../snapshot/model';
import { H2HostPool, type SharedConnectionLimit } from './pool/h2-host-pool';
import type { H2Stream } from '../h2/h2-stream';
import { frameSessionFactory } from './pool/frame-session';
import type { SessionFactory } from './pool/pooled-session';
import type { HostMonitor } from './outlier-detector';
import { coarseHealth, edsHealthFlags, formatHealthFlags, isExcluded, type CoarseHealth } from '../health/health-flags';
import type { HealthCheckedHost } from '../health/types';
import { lazyRequire } from '../common/lazy-require';

/** undici serves only HTTP/1.1 upstreams: loaded when the first one is used (see lazy-require.ts). */
const undici = lazyRequire<typeof import('undici')>('undici');

/** Per-host counters, named after Envoy's /clusters host stats. */
export interface HostStats {
  cx_active: number;
  cx_connect_fail: number;
  cx_total: number;
  rq_active: number;
  rq_error: number;
  rq_success: number;
  rq_timeout: number;
  rq_total: number;
  /** Bytes received from / sent to this host by tcp_proxy connections (`upstream_cx_rx_bytes_total`...). */
  cx_rx_bytes_total: number;
  cx_tx_bytes_total: number;
}

/**
 * One upstream endpoint of a cluster. It owns its connection pools, created on
 * first use and kept across config updates as long as the address stays in the
 * cluster (diff-and-retain), so a route or weight change closes no connection.
 */
export class Host implements HealthCheckedHost {
  readonly key: string;
  /** Health flags set by active health checking (and, later, outlier detection); EDS flags are derived from the endpoint. */
  private ownFlags = 0;
  readonly stats: HostStats = { cx_active: 0, cx_connect_fail: 0, cx_total: 0, rq_active: 0, rq_error: 0, rq_success: 0, rq_timeout: 0, rq_total: 0, cx_rx_bytes_total: 0, cx_tx_bytes_total: 0 };
  private h2: H2HostPool | undefined;
  private h2Frame: H2HostPool<H2Stream> | undefined;
  private h1: UndiciPool | undefined;
  /** The outlier detector's monitor of this host, when the cluster has outlier_detection. */
  outlier: HostMonitor | undefined;

  constructor(
    readonly address: SocketAddress,
    private endpoint: EndpointModel,
    private readonly cluster: ClusterModel,
    /** The cluster's max_connections circuit breaker (shared by every host's HTTP/2 pool). */
    private readonly connectionLimit?: SharedConnectionLimit,
  ) {
    this.key = formatAddress(address);
  }

  get weight(): number {
    return this.endpoint.weight;
  }

  get hostname(): string {
    return this.endpoint.hostname;
  }

  get priority(): number {
    return this.endpoint.priority;
  }

  get locality(): EndpointModel['locality'] {
    return this.endpoint.locality;
  }

  /** The endpoint's Istio workload metadata (`istio.workload`), for Istio's stats labels. */
  get istioWorkload(): string | undefined {
    return this.endpoint.istioWorkload;
  }

  /** LocalityLbEndpoints.load_balancing_weight of this host's locality (0 when unset). */
  get localityWeight(): number {
    return this.endpoint.localityWeight;
  }

  /** `envoy.lb` hash_key metadata: the host's key on a hash ring ('' = use the address). */
  get hashKey(): string {
    return this.endpoint.hashKey;
  }

  /** The ClusterLoadAssignment.policy the host came with (overprovisioning factor...). */
  get assignmentPolicy(): EndpointModel['assignmentPolicy'] {
    return this.endpoint.assignmentPolicy;
  }

  // === Health (Envoy's Host::HealthFlag) ===

  /** Every health flag: active HC's own plus those EDS health_status implies. */
  get healthFlags(): number {
    return this.ownFlags | edsHealthFlags(this.endpoint.healthStatus);
  }

  healthFlagGet(flag: number): boolean {
    return (this.healthFlags & flag) !== 0;
  }

  healthFlagSet(flag: number): void {
    this.ownFlags |= flag;
  }

  healthFlagClear(flag: number): void {
    this.ownFlags &= ~flag;
  }

  /** `/failed_active_hc/active_hc_timeout`... or `healthy`, as /clusters prints them. */
  get healthFlagsText(): string {
    return formatHealthFlags(this.healthFlags);
  }

  /** Healthy, degraded or unhealthy from all flags (active HC, EDS). */
  get coarseHealth(): CoarseHealth {
    return coarseHealth(this.healthFlags);
  }

  /** True when no flag makes the host unhealthy or degraded. */
  get healthy(): boolean {
    return this.coarseHealth === 'healthy';
  }

  /** Excluded from load balancing and from the panic computation (/pending_active_hc, /eds_status_draining...). */
  get excluded(): boolean {
    return isExcluded(this.healthFlags);
  }

  /**
   * The transport_socket_matches entry that applies to this endpoint (the first whose match
   * keys all equal the endpoint's metadata), or undefined for the cluster's own socket.
   */
  get transportSocketMatch(): TransportSocketMatchModel | undefined {
    const md = this.endpoint.transportSocketMatchMetadata;
    for (const m of this.cluster.transportSocketMatches) {
      let ok = true;
      for (const k in m.match) if (md[k] !== m.match[k]) { ok = false; break; }
      if (ok) return m;
    }
    return undefined;
  }

  /** False when this endpoint must be reached over TLS, which Legate does not speak. */
  get plaintextAllowed(): boolean {
    return this.transportSocketMatch?.plaintext ?? true;
  }

  get activeRequests(): number {
    return this.stats.rq_active;
  }

  /** Applies a changed endpoint (weight, health, metadata) without touching connections. */
  updateEndpoint(e: EndpointModel): void {
    this.endpoint = e;
  }

  /** The HTTP/2 pool on node:http2 (LEGATE_HTTP2_CORE=node). */
  h2Pool(): H2HostPool {
    // node:http2 is loaded only on this path (LEGATE_HTTP2_CORE=node).
    return (this.h2 ??= this.makeH2Pool((require('./pool/pooled-session') as typeof import('./pool/pooled-session')).nodeSessionFactory));
  }

  /** The HTTP/2 pool on the frame-level core (the default). */
  framePool(): H2HostPool<H2Stream> {
    return (this.h2Frame ??= this.makeH2Pool(frameSessionFactory));
  }

  private makeH2Pool<S>(factory: SessionFactory<S>): H2HostPool<S> {
    {
      const m = this.cluster;
      const addr = this.address.kind === 'tcp' ? { host: this.address.host, port: this.address.port } : { path: this.address.path };
      return new H2HostPool<S>(addr, {
        connectTimeoutMs: Math.max(1, Math.round(m.connectTimeoutMs)),
        idleTimeoutMs: Math.round(m.idleTimeoutMs),
        keepaliveIntervalMs: Math.round(m.http2.keepaliveIntervalMs),
        // Envoy's connection_keepalive.timeout default is 20 s when keepalive is on.
        keepaliveTimeoutMs: Math.max(1, Math.round(m.http2.keepaliveTimeoutMs || 20_000)),
        maxConcurrentStreams: m.http2.maxConcurrentStreams,
        maxSessions: m.circuitBreakers.maxConnections,
        maxPendingRequests: m.circuitBreakers.maxPendingRequests,
        initialStreamWindowSize: m.http2.initialStreamWindowSize,
        initialConnectionWindowSize: m.http2.initialConnectionWindowSize,
        localAddress: m.upstreamBindAddress?.host,
      }, {
        onConnectStart: () => { this.stats.cx_total++; },
        onConnect: () => { this.stats.cx_active++; },
        onConnectFail: () => { this.stats.cx_connect_fail++; },
        onSessionClose: () => { this.stats.cx_active--; },
      }, this.connectionLimit, factory);
    }
  }

  /** HTTP/2 sessions open or connecting (what the max_connections circuit breaker counts). */
  get h2Connections(): number {
    return (this.h2?.sessionCount ?? 0) + (this.h2Frame?.sessionCount ?? 0);
  }

  h1Pool(): UndiciPool {
    if (!this.h1) {
      const m = this.cluster;
      const origin = this.address.kind === 'tcp' ? `http://${formatAddress(this.address)}` : 'http://localhost';
      this.h1 = new (undici().Pool)(origin, {
        connections: m.circuitBreakers.maxConnections,
        connect: this.address.kind === 'pipe'
          ? { socketPath: this.address.path, timeout: m.connectTimeoutMs }
          : { timeout: m.connectTimeoutMs, ...(m.upstreamBindAddress ? { localAddress: m.upstreamBindAddress.host } : {}) },
        keepAliveTimeout: Math.min(m.idleTimeoutMs || 4000, 600_000),
        pipelining: 1,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
    }
    return this.h1;
  }

  /** Host left the cluster: finish in-flight requests, then close. */
  drain(): void {
    this.h2?.drain();
    this.h2Frame?.drain();
    void this.h1?.close().catch(() => undefined);
  }

  close(): void {
    this.h2?.close();
    this.h2Frame?.close();
    void this.h1?.destroy().catch(() => undefined);
  }
}

/** Where a plain TCP connection to this host goes, with the cluster's upstream_bind_config. */
export function tcpConnectOptions(host: Host, cluster: ClusterModel): NetConnectOpts {
  const a = host.address;
  if (a.kind === 'pipe') return { path: a.path };
  const bind = cluster.upstreamBindAddress;
  return { host: a.host, port: a.port, ...(bind ? { localAddress: bind.host, ...(bind.port ? { localPort: bind.port } : {}) } : {}) };
}
