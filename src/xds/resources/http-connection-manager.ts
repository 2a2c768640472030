import type { AccessLogModel, CodecType, HttpConnectionManagerModel, RouteSourceModel } from '../../snapshot/model';
import { apiSourceOf, decodeConfigSource, fileSourceOf } from './config-source';
import { decodeAccessLogFilter } from '../../access-log/filter-decode';
import { compileTextFormat } from '../../access-log/formatter';
import { accessLoggers, httpFilters, type HttpFilterModel } from '../../extensions/registry';
import { DecodeContext, durationMs, typeUrlName, type ProtoObj } from './decode-context';
import { decodeHttp2Options } from './protocol-options';
import { decodeRouteConfig } from './route-config';

export const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** Decodes `HttpConnectionManager` (the network filter's typed_config). */
export function decodeHttpConnectionManager(h: ProtoObj, path: string, ctx: DecodeContext): HttpConnectionManagerModel {
  const statPrefix = String(h.stat_prefix ?? '');
  if (!statPrefix) ctx.error(`${path}.stat_prefix`, 'stat_prefix is required');
  const codec = String(h.codec_type ?? 'AUTO');
  if (codec !== 'AUTO' && codec !== 'HTTP1' && codec !== 'HTTP2') ctx.error(`${path}.codec_type`, `codec_type ${codec} is not supported (AUTO, HTTP1, HTTP2)`);

  let routeSource: RouteSourceModel;
  if (h.route_config) routeSource = { kind: 'inline', config: decodeRouteConfig(h.route_config, `${path}.route_config`, ctx) };
  else if (h.rds) {
    const name = String(h.rds.route_config_name ?? '');
    if (!name) ctx.error(`${path}.rds.route_config_name`, 'route_config_name is required');
    const cs = decodeConfigSource(h.rds.config_source, `${path}.rds.config_source`, ctx);
    const file = fileSourceOf(cs, `${path}.rds.config_source`, ctx);
    const api = apiSourceOf(cs);
    routeSource = { kind: 'rds', name, initialFetchTimeoutMs: cs?.initialFetchTimeoutMs ?? 15_000, ...(file ? { file } : {}), ...(api ? { api } : {}) };
  } else {
    if (h.scoped_routes) ctx.error(`${path}.scoped_routes`, 'scoped routes are not supported');
    else ctx.error(path, 'one of route_config or rds is required');
    routeSource = { kind: 'inline', config: { name: '', virtualHosts: [], ignorePortInHostMatching: false, requestHeaders: { add: [], remove: [] }, responseHeaders: { add: [], remove: [] } } };
  }

  const filters = decodeHttpFilters(h.http_filters ?? [], `${path}.http_filters`, ctx);
  if (filters.length === 0 || filters[filters.length - 1]?.kind !== 'router') {
    ctx.error(`${path}.http_filters`, 'the last HTTP filter must be the router (envoy.filters.http.router)');
  }
  const accessLogs: AccessLogModel[] = [];
  (h.access_log ?? []).forEach((al: ProtoObj, i: number) => {
    const m = decodeAccessLog(al, `${path}.access_log[${i}]`, ctx);
    if (m) accessLogs.push(m);
  });
  for (const k of ['tracing', 'upgrade_configs', 'internal_address_config', 'original_ip_detection_extensions', 'early_header_mutation_extensions']) {
    if (h[k] !== undefined && !(Array.isArray(h[k]) && h[k].length === 0)) ctx.warn(`${path}.${k}`, `${k} is not implemented yet and has no effect`);
  }
  if (h.http3_protocol_options) ctx.error(`${path}.http3_protocol_options`, 'HTTP/3 is not supported');
  const maxKb = Number(h.max_request_headers_kb ?? 60);
  if (maxKb < 1 || maxKb > 8192) ctx.error(`${path}.max_request_headers_kb`, `${maxKb} must be in [1, 8192]`);
  const maxCount = Number(h.common_http_protocol_options?.max_headers_count ?? 100);
  if (!Number.isInteger(maxCount) || maxCount < 1) ctx.error(`${path}.common_http_protocol_options.max_headers_count`, `${String(maxCount)} must be at least 1`);
  return {
    kind: 'http_connection_manager',
    statPrefix,
    codec: codec as CodecType,
    routeSource,
    accessLogs,
    useRemoteAddress: h.use_remote_address === true,
    skipXffAppend: h.skip_xff_append === true,
    generateRequestId: h.generate_request_id !== false,
    preserveExternalRequestId: h.preserve_external_request_id === true,
    serverName: String(h.server_name ?? 'envoy'),
    serverHeaderTransformation: String(h.server_header_transformation ?? 'OVERWRITE') as HttpConnectionManagerModel['serverHeaderTransformation'],
    streamIdleTimeoutMs: durationMs(h.stream_idle_timeout, 300_000),
    requestTimeoutMs: durationMs(h.request_timeout, 0),
    idleTimeoutMs: durationMs(h.common_http_protocol_options?.idle_timeout, 3_600_000),
    drainTimeoutMs: durationMs(h.drain_timeout, 5000),
    http2: decodeHttp2Options(h.http2_protocol_options, `${path}.http2_protocol_options`, ctx),
    maxRequestHeadersKb: maxKb,
    maxHeadersCount: maxCount,
    httpFilters: filters,
    suppressEnvoyHeaders: filters.some((f) => f.kind === 'router' && f.suppressEnvoyHeaders),
    headersWithUnderscoresAction: String(h.common_http_protocol_options?.headers_with_underscores_action ?? 'ALLOW') as HttpConnectionManagerModel['headersWithUnderscoresAction'],
    istioStats: filters.find((f) => f.kind === 'istio_stats')?.config,
  };
}

function decodeHttpFilters(list: ProtoObj[], path: string, ctx: DecodeContext): HttpFilterModel[] {
  const out: HttpFilterModel[] = [];
  list.forEach((f, i) => {
    const fpath = `${path}[${i}]`;
    const name = String(f.name ?? '');
    if (f.disabled === true) return;
    if (f.config_discovery) {
      ctx.error(`${fpath}.config_discovery`, `filter "${name}": ECDS config discovery is not supported`);
      return;
    }
    const type = filterType(f.typed_config);
    const rejected = httpFilters.rejection(type);
    if (rejected) {
      ctx.error(fpath, `HTTP filter "${name}" (${type}) ${rejected.reason}`);
      return;
    }
    const factory = httpFilters.get(type) ?? (!type && name === 'envoy.filters.http.router' ? httpFilters.get('envoy.extensions.filters.http.router.v3.Router') : undefined);
    if (!factory) {
      if (f.is_optional === true) {
        ctx.warn(fpath, `optional HTTP filter "${name}" (${type || 'no typed_config'}) is not supported and is skipped`);
        return;
      }
      ctx.error(fpath, `HTTP filter "${name}" (${type || 'no typed_config'}) is not supported`);
      return;
    }
    const m = factory.decode(f.typed_config ?? {}, `${fpath}.typed_config`, ctx);
    if (m) out.push(m);
  });
  return out;
}

function decodeAccessLog(al: ProtoObj, path: string, ctx: DecodeContext): AccessLogModel | undefined {
  const name = String(al.name ?? '');
  const type = typeUrlName(al.typed_config);
  const factory = accessLoggers.get(type);
  if (!factory) {
    ctx.error(path, `access logger "${name}" (${type || 'no typed_config'}) is not supported (supported: ${accessLoggers.types().join(', ')})`);
    return undefined;
  }
  const filter = al.filter ? decodeAccessLogFilter(al.filter, `${path}.filter`, ctx) : undefined;
  const m = factory.decode(name, al.typed_config, `${path}.typed_config`, ctx);
  if (!m) return undefined;
  // Compile the format now, so a bad operator is a config error and not a crash later.
  try {
    if (m.format.kind === 'text') compileTextFormat(m.format.text);
    else for (const v of Object.values(m.format.fields)) compileTextFormat(String(v));
  } catch (err) {
    ctx.error(`${path}.typed_config`, (err as Error).message);
  }
  return { ...m, filter };
}

/** The filter's config type; for a TypedStruct (how Istio sends its own filters), the type it wraps. */
function filterType(typedConfig: ProtoObj | undefined): string {
  const t = typeUrlName(typedConfig);
  if (t === 'udpa.type.v1.TypedStruct' || t === 'xds.type.v3.TypedStruct') {
    const inner = String(typedConfig?.['type_url'] ?? '');
    return inner.slice(inner.lastIndexOf('/') + 1);
  }
  return t;
}
