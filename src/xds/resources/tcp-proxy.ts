import type { TcpProxyModel } from '../../snapshot/model';
import { durationMs, type DecodeContext, type ProtoObj } from './decode-context';

export const TCP_PROXY_TYPE = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

/** Fields of TcpProxy that change behaviour and that Legate does not implement: rejected, never ignored. */
const UNSUPPORTED = ['metadata_match', 'tunneling_config', 'on_demand', 'hash_policy', 'max_connect_attempts', 'backoff_options', 'proxy_protocol_tlvs'] as const;

/** Decodes `extensions.filters.network.tcp_proxy.v3.TcpProxy`. */
export function decodeTcpProxy(c: ProtoObj, path: string, ctx: DecodeContext): TcpProxyModel {
  const statPrefix = String(c.stat_prefix ?? '');
  if (!statPrefix) ctx.error(`${path}.stat_prefix`, 'stat_prefix is required');
  let clusters: { name: string; weight: number }[] = [];
  if (c.cluster !== undefined && c.cluster !== '') {
    clusters = [{ name: String(c.cluster), weight: 1 }];
  } else if (c.weighted_clusters) {
    (c.weighted_clusters.clusters ?? []).forEach((w: ProtoObj, i: number) => {
      const weight = Number(w.weight ?? 0);
      if (!w.name) ctx.error(`${path}.weighted_clusters.clusters[${i}].name`, 'cluster name is required');
      if (!(weight >= 1)) ctx.error(`${path}.weighted_clusters.clusters[${i}].weight`, 'must be at least 1');
      if (w.metadata_match) ctx.error(`${path}.weighted_clusters.clusters[${i}].metadata_match`, 'subset load balancing (metadata_match) is not supported');
      clusters.push({ name: String(w.name ?? ''), weight });
    });
    if (clusters.length === 0) ctx.error(`${path}.weighted_clusters.clusters`, 'at least one cluster is required');
  } else {
    ctx.error(path, 'one of cluster or weighted_clusters is required');
  }
  for (const f of UNSUPPORTED) {
    if (c[f] === undefined || (Array.isArray(c[f]) && c[f].length === 0)) continue;
    // One connect attempt is Envoy's default and what Legate does.
    if (f === 'max_connect_attempts' && Number(c[f]) === 1) continue;
    ctx.error(`${path}.${f}`, `${f} is not supported by Legate's tcp_proxy`);
  }
  if ((c.access_log ?? []).length) ctx.warn(`${path}.access_log`, 'tcp_proxy access logs are not written yet (see docs/compat.md)');
  return {
    kind: 'tcp_proxy',
    statPrefix,
    clusters,
    idleTimeoutMs: durationMs(c.idle_timeout, 3_600_000),
    maxDownstreamConnectionDurationMs: durationMs(c.max_downstream_connection_duration, 0),
  };
}
