/**
 * Stats: Envoy's names, types, tag extraction and admin renderings.
 * Runtime objects resolve their handles when they are built:
 *   - `hcmStats(prefix)`, `listenerStats(address)`, `subscriptionStats(prefix)` → shared tables;
 *   - `statsStore().histogram(name)` → a shared histogram;
 *   - `clusterStats().scopeOf(cluster)` → the cluster's router stats.
 */
import { formatAddress, type SocketAddress } from '../snapshot/model';
import { statsStore } from './store';
import { CONTROL_PLANE_STATS, HCM_STATS, LISTENER_STATS, SUBSCRIPTION_STATS, TCP_PROXY_STATS, sanitizeStatName } from './tables';

export { registerStatsEndpoints, type StatsServerView, type StatsEndpointOptions } from './admin-endpoints';
export { clusterStats, ClusterScope } from './cluster-stats';
export { Histogram, DEFAULT_BUCKETS } from './histogram';
export { statsStore, StatsStore } from './store';

/** `http.<stat_prefix>.` counters of an HTTP connection manager. */
export function hcmStats(statPrefix: string) {
  return statsStore().table(`http.${sanitizeStatName(statPrefix)}.`, HCM_STATS);
}

/** `http.<stat_prefix>.downstream_rq_time`. */
export function hcmRqTime(statPrefix: string) {
  return statsStore().histogram(`http.${sanitizeStatName(statPrefix)}.downstream_rq_time`);
}

/** `listener.<address>.` (`127.0.0.1_15001`, `[__]_15006`): Envoy names listener stats after the configured address. */
export function listenerStatPrefix(address: SocketAddress): string {
  return `listener.${sanitizeStatName(formatAddress(address))}.`;
}

export function listenerStats(address: SocketAddress) {
  return statsStore().table(listenerStatPrefix(address), LISTENER_STATS);
}

/** `listener.<address>.downstream_cx_length_ms`. */
export function listenerCxLength(address: SocketAddress) {
  return statsStore().histogram(`${listenerStatPrefix(address)}downstream_cx_length_ms`);
}

/** `tcp.<stat_prefix>.` counters of a tcp_proxy filter. */
export function tcpProxyStats(statPrefix: string) {
  return statsStore().table(`tcp.${sanitizeStatName(statPrefix)}.`, TCP_PROXY_STATS);
}

/** xDS subscription stats: `cluster_manager.cds.`, `listener_manager.lds.`. */
export function subscriptionStats(prefix: string) {
  return statsStore().table(prefix, SUBSCRIPTION_STATS);
}

/** `control_plane.connected_state`. */
export function controlPlaneStats() {
  return statsStore().table('control_plane.', CONTROL_PLANE_STATS);
}
