/**
 * Stats declared as tables, one per scope, with Envoy's names and types
 * (`envoyproxy/envoy:envoy/upstream/stats.h`, `source/common/http/conn_manager_impl.h`,
 * `source/common/listener_manager/listener_impl.h`, `source/common/config/utility.h`).
 * A table becomes a plain object of numbers (`table.downstream_rq_total++` on the hot path),
 * shared by every runtime object with the same scope name, so counts survive config swaps.
 */

export type StatKind = 'counter' | 'gauge';
export type StatTableDecl = Readonly<Record<string, StatKind>>;

/** `http.<stat_prefix>.` (HTTP connection manager and router). */
export const HCM_STATS = {
  downstream_cx_total: 'counter',
  downstream_cx_active: 'gauge',
  downstream_cx_destroy: 'counter',
  downstream_cx_http1_total: 'counter',
  downstream_cx_http2_total: 'counter',
  downstream_rq_total: 'counter',
  downstream_rq_active: 'gauge',
  downstream_rq_http1_total: 'counter',
  downstream_rq_http2_total: 'counter',
  downstream_rq_completed: 'counter',
  downstream_rq_rx_reset: 'counter',
  downstream_rq_tx_reset: 'counter',
  downstream_rq_timeout: 'counter',
  downstream_rq_idle_timeout: 'counter',
  downstream_rq_1xx: 'counter',
  downstream_rq_2xx: 'counter',
  downstream_rq_3xx: 'counter',
  downstream_rq_4xx: 'counter',
  downstream_rq_5xx: 'counter',
  no_route: 'counter',
  no_cluster: 'counter',
  downstream_cx_protocol_error: 'counter',
  downstream_rq_too_many_premature_resets: 'counter',
  downstream_rq_overload_close: 'counter',
} as const satisfies StatTableDecl;

/** `listener.<address>.` */
export const LISTENER_STATS = {
  downstream_cx_total: 'counter',
  downstream_cx_active: 'gauge',
  downstream_cx_destroy: 'counter',
  no_filter_chain_match: 'counter',
  downstream_listener_filter_error: 'counter',
  downstream_cx_overload_reject: 'counter',
  downstream_global_cx_overflow: 'counter',
  downstream_pre_cx_timeout: 'counter',
} as const satisfies StatTableDecl;

/** `tcp.<stat_prefix>.` (envoy.filters.network.tcp_proxy). */
export const TCP_PROXY_STATS = {
  downstream_cx_total: 'counter',
  downstream_cx_no_route: 'counter',
  downstream_cx_rx_bytes_total: 'counter',
  downstream_cx_tx_bytes_total: 'counter',
  idle_timeout: 'counter',
  max_downstream_connection_duration: 'counter',
  upstream_flush_total: 'counter',
} as const satisfies StatTableDecl;

/** `cluster_manager.cds.`, `listener_manager.lds.` (Envoy's `ALL_SUBSCRIPTION_STATS`, the ones Legate counts). */
export const SUBSCRIPTION_STATS = {
  update_attempt: 'counter',
  update_success: 'counter',
  update_rejected: 'counter',
  update_failure: 'counter',
  update_time: 'gauge',
} as const satisfies StatTableDecl;

/** `control_plane.` */
export const CONTROL_PLANE_STATS = {
  connected_state: 'gauge',
} as const satisfies StatTableDecl;

/** Counters and gauges of `cluster.<name>.` read from the cluster's own counters ({@link ClusterStats} in upstream/cluster.ts). */
export const CLUSTER_OWN_STATS = {
  upstream_rq_total: 'counter',
  upstream_rq_active: 'gauge',
  upstream_rq_timeout: 'counter',
  upstream_cx_none_healthy: 'counter',
  upstream_rq_rx_reset: 'counter',
  upstream_rq_tx_reset: 'counter',
  upstream_rq_completed: 'counter',
  membership_change: 'counter',
  update_attempt: 'counter',
  update_success: 'counter',
  update_failure: 'counter',
  lb_healthy_panic: 'counter',
  upstream_rq_pending_overflow: 'counter',
  upstream_rq_pending_total: 'counter',
  upstream_cx_overflow: 'counter',
} as const satisfies StatTableDecl;

/** Host counters summed into `cluster.<name>.<stat>` (host name → cluster stat). */
export const CLUSTER_HOST_SUMS = {
  cx_total: ['upstream_cx_total', 'counter'],
  cx_active: ['upstream_cx_active', 'gauge'],
  cx_connect_fail: ['upstream_cx_connect_fail', 'counter'],
  cx_rx_bytes_total: ['upstream_cx_rx_bytes_total', 'counter'],
  cx_tx_bytes_total: ['upstream_cx_tx_bytes_total', 'counter'],
} as const satisfies Readonly<Record<string, readonly [string, StatKind]>>;

/** Stat names use `_` for `:` (Envoy's `sanitizeStatsName`), e.g. `listener.[__]_15001.`. */
export function sanitizeStatName(s: string): string {
  return s.replace(/:/g, '_');
}
