import { randomUUID } from 'node:crypto';
import type { FilterChainModel, ListenerFilterModel, ListenerFilterPredicateModel, ListenerModel } from '../../snapshot/model';
import { decodeAddress } from './address';
import { DecodeContext, durationMs, typeUrlName, type ProtoObj } from './decode-context';
import { decodeFilterChainMatch } from './filter-chain-match';
import { decodeHttpConnectionManager, HCM_TYPE } from './http-connection-manager';
import { decodeTcpProxy, TCP_PROXY_TYPE } from './tcp-proxy';
import { checkTransportSocket } from './transport-socket';
import { DuplicateMatchError, FilterChainMatcher } from '../../listener/filter-chain-matcher';
import { originalDstUnavailable } from '../../listener/original-dst';

/** Listener filters Legate implements, by typed_config type (and the well-known names for untyped configs). */
const LISTENER_FILTERS: Record<string, ListenerFilterModel['kind']> = {
  'envoy.extensions.filters.listener.original_dst.v3.OriginalDst': 'original_dst',
  'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector': 'tls_inspector',
  'envoy.extensions.filters.listener.http_inspector.v3.HttpInspector': 'http_inspector',
  'envoy.filters.listener.original_dst': 'original_dst',
  'envoy.filters.listener.tls_inspector': 'tls_inspector',
  'envoy.filters.listener.http_inspector': 'http_inspector',
};

/**
 * Istio's network filters that only observe (metadata exchange, telemetry, peer identity from
 * TLS): accepted as no-ops. None of them allows or denies a connection.
 */
const NO_OP_NETWORK_FILTERS = new Set([
  'envoy.tcp.metadataexchange.config.MetadataExchange',
  'stats.PluginConfig',
  'io.istio.network.authn.Config',
]);

/** Network filters that enforce security: rejected by name (never accepted as a no-op). */
const SECURITY_NETWORK_FILTERS: Record<string, string> = {
  'envoy.extensions.filters.network.rbac.v3.RBAC': 'RBAC authorization',
  'envoy.extensions.filters.network.ext_authz.v3.ExtAuthz': 'external authorization',
  'envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit': 'local rate limiting',
  'envoy.extensions.filters.network.ratelimit.v3.RateLimit': 'rate limiting',
  'envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit': 'connection limiting',
};

/** The type of a filter config, looking inside a TypedStruct. */
function configType(tc: ProtoObj | undefined): string {
  const t = typeUrlName(tc);
  if (t === 'udpa.type.v1.TypedStruct' || t === 'xds.type.v3.TypedStruct') {
    const url = String(tc?.type_url ?? '');
    return url.slice(url.lastIndexOf('/') + 1);
  }
  return t;
}

/** Decodes `config.listener.v3.Listener`. */
export function decodeListener(l: ProtoObj, path: string, ctx: DecodeContext): ListenerModel {
  // Envoy allocates an internal UUID for a static listener without a name.
  const name = l.name ? String(l.name) : randomUUID();
  const address = decodeAddress(l.address, `${path}.address`, ctx) ?? { kind: 'tcp', host: '0.0.0.0', port: 0 };
  const listenerFilters: ListenerFilterModel[] = [];
  (l.listener_filters ?? []).forEach((f: ProtoObj, i: number) => {
    const lf = decodeListenerFilter(f, `${path}.listener_filters[${i}]`, ctx);
    if (lf) listenerFilters.push(lf);
  });
  const useOriginalDst = l.use_original_dst === true;
  // Envoy appends an original_dst listener filter to a use_original_dst listener (listener_impl.cc).
  if (useOriginalDst) listenerFilters.push({ kind: 'original_dst', disabled: undefined });
  if (l.additional_addresses?.length) ctx.error(`${path}.additional_addresses`, 'additional listener addresses are not supported yet');
  if (l.filter_chain_matcher) ctx.error(`${path}.filter_chain_matcher`, 'the unified matcher API (filter_chain_matcher) is not supported; use filter_chain_match');
  if (l.internal_listener) ctx.error(`${path}.internal_listener`, 'internal listeners are not supported');
  const chains: FilterChainModel[] = [];
  (l.filter_chains ?? []).forEach((fc: ProtoObj, i: number) => {
    const c = decodeFilterChain(fc, `${path}.filter_chains[${i}]`, ctx);
    if (c) chains.push(c);
  });
  let defaultFilterChain: FilterChainModel | undefined;
  if (l.default_filter_chain) {
    defaultFilterChain = decodeFilterChain(l.default_filter_chain, `${path}.default_filter_chain`, ctx, true);
  }
  if ((l.filter_chains ?? []).length === 0 && !l.default_filter_chain) {
    ctx.error(`${path}.filter_chains`, 'at least one filter chain (or a default_filter_chain) is required');
  }
  // Two chains that would match the same connections: Envoy rejects the listener.
  try {
    new FilterChainMatcher(chains.map((c, i) => ({ match: c.match, value: i, label: c.name ? `"${c.name}"` : `filter_chains[${i}]` })));
  } catch (err) {
    if (!(err instanceof DuplicateMatchError)) throw err;
    ctx.error(`${path}.filter_chains`, err.message);
  }
  const transparent = l.transparent === true;
  if (!transparent && listenerFilters.some((f) => f.kind === 'original_dst')) {
    const why = originalDstUnavailable();
    if (why) ctx.error(useOriginalDst ? `${path}.use_original_dst` : `${path}.listener_filters`, `original destinations cannot be read: ${why}`);
  }
  const bindToPort = l.bind_to_port !== false;
  if (address.kind === 'pipe' && (useOriginalDst || transparent)) ctx.error(`${path}.address`, 'use_original_dst and transparent need a TCP address');
  return {
    name,
    address,
    filterChains: chains,
    defaultFilterChain,
    trafficDirection: String(l.traffic_direction ?? 'UNSPECIFIED') as ListenerModel['trafficDirection'],
    perConnectionBufferLimitBytes: Number(l.per_connection_buffer_limit_bytes ?? 1024 * 1024),
    listenerFilters,
    listenerFiltersTimeoutMs: durationMs(l.listener_filters_timeout, 15_000),
    continueOnListenerFiltersTimeout: l.continue_on_listener_filters_timeout === true,
    useOriginalDst,
    bindToPort,
    transparent,
  };
}

function decodeListenerFilter(f: ProtoObj, path: string, ctx: DecodeContext): ListenerFilterModel | undefined {
  const type = configType(f.typed_config);
  const kind = LISTENER_FILTERS[type || String(f.name ?? '')];
  if (!kind) {
    ctx.error(path, `listener filter "${f.name ?? ''}" (${type || 'no typed_config'}) is not supported (supported: original_dst, tls_inspector, http_inspector)`);
    return undefined;
  }
  if (f.config_discovery) ctx.error(`${path}.config_discovery`, 'listener filter config discovery (ECDS) is not supported');
  const tc = f.typed_config ?? {};
  if (kind === 'original_dst' && tc.traffic_direction !== undefined && tc.traffic_direction !== 'UNSPECIFIED') {
    ctx.error(`${path}.typed_config.traffic_direction`, 'only used on Windows; not supported');
  }
  if (kind === 'tls_inspector' && (tc.enable_ja3_fingerprinting === true || tc.enable_ja4_fingerprinting === true)) {
    ctx.error(`${path}.typed_config`, 'JA3/JA4 fingerprinting is not supported');
  }
  const disabled = f.filter_disabled ? decodePredicate(f.filter_disabled, `${path}.filter_disabled`, ctx) : undefined;
  return { kind, disabled };
}

/** `ListenerFilterChainMatchPredicate`. */
function decodePredicate(p: ProtoObj, path: string, ctx: DecodeContext): ListenerFilterPredicateModel {
  if (p.or_match || p.and_match) {
    const set = p.or_match ?? p.and_match;
    const key = p.or_match ? 'or_match' : 'and_match';
    const rules = (set.rules ?? []).map((r: ProtoObj, i: number) => decodePredicate(r, `${path}.${key}.rules[${i}]`, ctx));
    if (rules.length < 2) ctx.error(`${path}.${key}.rules`, 'needs at least 2 rules');
    return { kind: p.or_match ? 'or' : 'and', rules };
  }
  if (p.not_match) return { kind: 'not', rule: decodePredicate(p.not_match, `${path}.not_match`, ctx) };
  if (p.any_match === true) return { kind: 'any' };
  if (p.destination_port_range) {
    const start = Number(p.destination_port_range.start ?? 0);
    const end = Number(p.destination_port_range.end ?? 0);
    if (!(end > start)) ctx.error(`${path}.destination_port_range`, `end (${end}) must be greater than start (${start})`);
    return { kind: 'destination_port_range', start, end };
  }
  ctx.error(path, 'one of or_match, and_match, not_match, any_match, destination_port_range is required');
  return { kind: 'any' };
}

function decodeFilterChain(fc: ProtoObj, path: string, ctx: DecodeContext, isDefault = false): FilterChainModel | undefined {
  checkTransportSocket(fc.transport_socket, `${path}.transport_socket`, ctx);
  if (fc.on_demand_configuration) ctx.error(`${path}.on_demand_configuration`, 'on-demand filter chains are not supported');
  if (fc.use_proxy_proto === true) ctx.error(`${path}.use_proxy_proto`, 'the PROXY protocol is not supported');
  if (isDefault && fc.filter_chain_match && Object.keys(fc.filter_chain_match).length) {
    ctx.warn(`${path}.filter_chain_match`, 'ignored on the default filter chain (Envoy ignores it too)');
  }
  const match = decodeFilterChainMatch(isDefault ? undefined : fc.filter_chain_match, `${path}.filter_chain_match`, ctx);
  const filters: ProtoObj[] = fc.filters ?? [];
  if (filters.length === 0) {
    ctx.error(`${path}.filters`, 'a filter chain needs a network filter');
    return undefined;
  }
  let hcm: FilterChainModel['hcm'];
  let tcpProxy: FilterChainModel['tcpProxy'];
  filters.forEach((f, i) => {
    const type = configType(f.typed_config);
    const fpath = `${path}.filters[${i}]`;
    const last = i === filters.length - 1;
    const label = `network filter "${f.name ?? ''}" (${type || 'no typed_config'})`;
    if (f.config_discovery) {
      ctx.error(`${fpath}.config_discovery`, 'network filter config discovery (ECDS) is not supported');
    } else if (type === HCM_TYPE) {
      if (!last) ctx.error(fpath, 'http_connection_manager is a terminal filter and must be the last network filter');
      hcm = decodeHttpConnectionManager(f.typed_config, `${fpath}.typed_config`, ctx);
    } else if (type === TCP_PROXY_TYPE) {
      if (!last) ctx.error(fpath, 'tcp_proxy is a terminal filter and must be the last network filter');
      tcpProxy = decodeTcpProxy(f.typed_config, `${fpath}.typed_config`, ctx);
    } else if (NO_OP_NETWORK_FILTERS.has(type)) {
      // Observes only (see docs/compat.md); nothing to build.
    } else if (SECURITY_NETWORK_FILTERS[type]) {
      ctx.error(fpath, `${label} is not supported: Legate does not implement ${SECURITY_NETWORK_FILTERS[type]} and will not accept connections without it`);
    } else {
      ctx.error(fpath, `${label} is not supported (supported: ${HCM_TYPE}, ${TCP_PROXY_TYPE}; Istio's metadata_exchange, stats and authn as no-ops)`);
    }
  });
  if (!hcm && !tcpProxy) {
    ctx.error(`${path}.filters`, 'the last network filter must be a terminal filter (http_connection_manager or tcp_proxy)');
    return undefined;
  }
  return { name: String(fc.name ?? ''), match, hcm, tcpProxy };
}
