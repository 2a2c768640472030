import type { AdsConfigModel, ConfigSourceModel, FileSourceModel } from '../../snapshot/model';
import { durationMs, type DecodeContext, type ProtoObj } from './decode-context';

/** Envoy's default initial_fetch_timeout. */
const DEFAULT_INITIAL_FETCH_TIMEOUT_MS = 15_000;

/**
 * Decodes `config.core.v3.ConfigSource`. Legate subscribes through ADS, through a per-type gRPC
 * stream (`api_config_source` with api_type GRPC or DELTA_GRPC), or reads files; REST and
 * `self` are reported by name.
 */
export function decodeConfigSource(cs: ProtoObj | undefined, path: string, ctx: DecodeContext): ConfigSourceModel | undefined {
  if (!cs) {
    ctx.error(path, 'config_source is required');
    return undefined;
  }
  const initialFetchTimeoutMs = durationMs(cs.initial_fetch_timeout, DEFAULT_INITIAL_FETCH_TIMEOUT_MS);
  if (cs.ads !== undefined) return { kind: 'ads', initialFetchTimeoutMs };
  if (cs.path_config_source) {
    const watched = cs.path_config_source.watched_directory?.path;
    return { kind: 'path', path: String(cs.path_config_source.path ?? ''), initialFetchTimeoutMs, ...(watched ? { watchedDirectory: String(watched) } : {}) };
  }
  if (cs.path !== undefined) return { kind: 'path', path: String(cs.path), initialFetchTimeoutMs };
  if (cs.api_config_source) {
    const api = decodeAdsConfig(cs.api_config_source, `${path}.api_config_source`, ctx, 'an api_config_source');
    return api ? { kind: 'api', api, initialFetchTimeoutMs } : undefined;
  }
  if (cs.self !== undefined) {
    ctx.error(`${path}.self`, 'self config sources are not supported yet; use ads: {}');
    return undefined;
  }
  ctx.error(path, 'one of ads, path_config_source or path is required');
  return undefined;
}

/**
 * The file of a filesystem config source for RDS/EDS, or undefined for ADS; an empty path is an
 * error named at `path`.
 */
export function fileSourceOf(cs: ConfigSourceModel | undefined, path: string, ctx: DecodeContext): FileSourceModel | undefined {
  if (cs?.kind !== 'path') return undefined;
  if (!cs.path) {
    ctx.error(`${path}.path_config_source.path`, 'path is required');
    return undefined;
  }
  return cs.watchedDirectory ? { path: cs.path, watchedDirectory: cs.watchedDirectory } : { path: cs.path };
}

/** The per-type gRPC source of an RDS/EDS config source, or undefined (ADS or a file). */
export function apiSourceOf(cs: ConfigSourceModel | undefined): AdsConfigModel | undefined {
  return cs?.kind === 'api' ? cs.api : undefined;
}

/**
 * Decodes `config.core.v3.ApiConfigSource` as used by `dynamic_resources.ads_config` and by a
 * config source's `api_config_source` (the same message; only gRPC transports are supported).
 */
export function decodeAdsConfig(a: ProtoObj, path: string, ctx: DecodeContext, what = 'ADS'): AdsConfigModel | undefined {
  const apiType = String(a.api_type ?? 'GRPC');
  if (apiType !== 'GRPC' && apiType !== 'DELTA_GRPC') {
    const why = apiType === 'REST' ? 'REST-JSON polling is not supported' : `api_type ${apiType} is not supported`;
    ctx.error(`${path}.api_type`, `${why} for ${what} (GRPC or DELTA_GRPC)`);
    return undefined;
  }
  if ((a.transport_api_version ?? 'V3') !== 'V3') ctx.error(`${path}.transport_api_version`, 'only the V3 xDS API is supported');
  const services: ProtoObj[] = a.grpc_services ?? [];
  if (services.length === 0) {
    ctx.error(`${path}.grpc_services`, `a gRPC service is required for ${what}`);
    return undefined;
  }
  if (services.length > 1) ctx.warn(`${path}.grpc_services`, 'only the first gRPC service is used, as in Envoy');
  const g = services[0]!;
  let target: AdsConfigModel['target'];
  if (g.envoy_grpc) {
    const clusterName = String(g.envoy_grpc.cluster_name ?? '');
    if (!clusterName) ctx.error(`${path}.grpc_services[0].envoy_grpc.cluster_name`, 'cluster_name is required');
    target = { kind: 'cluster', clusterName };
  } else if (g.google_grpc) {
    const targetUri = String(g.google_grpc.target_uri ?? '');
    if (!targetUri) ctx.error(`${path}.grpc_services[0].google_grpc.target_uri`, 'target_uri is required');
    if (g.google_grpc.channel_credentials?.ssl_credentials) ctx.error(`${path}.grpc_services[0].google_grpc.channel_credentials`, 'TLS channel credentials are not supported yet');
    target = { kind: 'google_grpc', targetUri };
  } else {
    ctx.error(`${path}.grpc_services[0]`, 'one of envoy_grpc or google_grpc is required');
    return undefined;
  }
  return { apiType, target, setNodeOnFirstMessageOnly: a.set_node_on_first_message_only === true };
}
