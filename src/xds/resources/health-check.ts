/**
 * Decodes `config.core.v3.HealthCheck` (cluster.health_checks) into a HealthCheckModel,
 * with Envoy's defaults (HealthCheckerImplBase's constructor) and its validation: PGV already
 * checked `timeout`/`interval` (required, > 0), the thresholds (required) and the
 * `health_checker` oneof (exactly one) when the proto was decoded; what PGV cannot say is
 * checked here, with the field path of every problem.
 */
import type { HeaderValueOptionModel, HealthCheckModel, HealthCheckerModel } from '../../snapshot/model';
import { DecodeContext, durationMs, typeUrlName, type ProtoObj } from './decode-context';
import { decodeMutations } from './route-config';

const FILE_EVENT_SINK = 'envoy.extensions.health_check.event_sinks.file.v3.HealthCheckEventFileSink';
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH']);

/**
 * Decodes `cluster.health_checks`. Envoy runs at most one health checker per cluster
 * ("Multiple health checks not supported", ClusterManagerImpl), so more than one is an error.
 */
export function decodeHealthChecks(list: ProtoObj[] | undefined, path: string, ctx: DecodeContext): HealthCheckModel | undefined {
  if (!list?.length) return undefined;
  if (list.length > 1) ctx.error(path, `multiple health checks are not supported (Envoy runs one per cluster), found ${list.length}`);
  return decodeHealthCheck(list[0]!, `${path}[0]`, ctx);
}

/** Decodes one `config.core.v3.HealthCheck`. */
export function decodeHealthCheck(hc: ProtoObj, path: string, ctx: DecodeContext): HealthCheckModel {
  const positive = (field: string): number => {
    const v = hc[field];
    if (typeof v !== 'number') {
      ctx.error(`${path}.${field}`, 'is required');
      return 1;
    }
    if (!(v > 0)) ctx.error(`${path}.${field}`, `must be greater than 0s, got ${v / 1000}s`);
    return v;
  };
  const threshold = (field: string): number => {
    const v = hc[field];
    if (v === undefined || v === null) {
      ctx.error(`${path}.${field}`, 'is required');
      return 1;
    }
    // Envoy accepts 0, but then the threshold can never be reached (healthy_threshold 0: a host that
    // fails once never comes back; unhealthy_threshold 0: timeouts never eject). Refuse it clearly.
    if (!(Number(v) >= 1)) ctx.error(`${path}.${field}`, `must be at least 1, got ${v}`);
    return Math.max(1, Number(v));
  };
  const optionalPositive = (field: string, dflt: number): number => {
    const v = hc[field];
    if (v === undefined || v === null) return dflt;
    if (!(v > 0)) ctx.error(`${path}.${field}`, `must be greater than 0s, got ${v / 1000}s`);
    return v;
  };
  const nonNegative = (field: string): number => {
    const v = durationMs(hc[field], 0);
    if (v < 0) ctx.error(`${path}.${field}`, `must not be negative, got ${v / 1000}s`);
    return Math.max(0, v);
  };

  const timeoutMs = positive('timeout');
  const intervalMs = positive('interval');
  const noTrafficIntervalMs = optionalPositive('no_traffic_interval', 60_000);
  const unhealthyIntervalMs = optionalPositive('unhealthy_interval', intervalMs);

  if (hc.alt_port !== undefined) ctx.error(`${path}.alt_port`, 'alt_port is not supported; use the endpoint health_check_config.port_value');
  if (hc.event_service) ctx.error(`${path}.event_service`, 'the gRPC health event service is not supported; use event_logger with a file sink');
  const eventLogPaths: string[] = [];
  if (hc.event_log_path) eventLogPaths.push(String(hc.event_log_path));
  (hc.event_logger ?? []).forEach((e: ProtoObj, i: number) => {
    const type = typeUrlName(e.typed_config);
    if (type !== FILE_EVENT_SINK) {
      ctx.error(`${path}.event_logger[${i}].typed_config`, `health check event sink ${type || e.name || '?'} is not supported (supported: ${FILE_EVENT_SINK})`);
      return;
    }
    const p = String(e.typed_config.event_log_path ?? '');
    if (!p) ctx.error(`${path}.event_logger[${i}].typed_config.event_log_path`, 'is required');
    else eventLogPaths.push(p);
  });
  if (hc.tls_options) ctx.warn(`${path}.tls_options`, 'accepted; health checks use the cluster\'s plaintext socket (Legate has no upstream TLS)');
  if (hc.transport_socket_match_criteria) ctx.warn(`${path}.transport_socket_match_criteria`, 'accepted; health checks use the cluster\'s plaintext socket (Legate has no upstream TLS)');

  return {
    timeoutMs,
    intervalMs,
    initialJitterMs: nonNegative('initial_jitter'),
    intervalJitterMs: nonNegative('interval_jitter'),
    intervalJitterPercent: Number(hc.interval_jitter_percent ?? 0),
    unhealthyThreshold: threshold('unhealthy_threshold'),
    healthyThreshold: threshold('healthy_threshold'),
    reuseConnection: hc.reuse_connection !== false,
    noTrafficIntervalMs,
    noTrafficHealthyIntervalMs: optionalPositive('no_traffic_healthy_interval', noTrafficIntervalMs),
    unhealthyIntervalMs,
    unhealthyEdgeIntervalMs: optionalPositive('unhealthy_edge_interval', unhealthyIntervalMs),
    healthyEdgeIntervalMs: optionalPositive('healthy_edge_interval', intervalMs),
    alwaysLogFailures: hc.always_log_health_check_failures === true,
    alwaysLogSuccess: hc.always_log_health_check_success === true,
    eventLogPaths,
    checker: decodeChecker(hc, path, ctx),
  };
}

function decodeChecker(hc: ProtoObj, path: string, ctx: DecodeContext): HealthCheckerModel {
  const set = ['grpc_health_check', 'http_health_check', 'tcp_health_check', 'custom_health_check'].filter((k) => hc[k] !== undefined);
  if (set.length !== 1) {
    // PGV reports this already when the proto is decoded; kept for models built from other sources.
    ctx.error(path, set.length === 0
      ? 'one of grpc_health_check, http_health_check or tcp_health_check is required'
      : `only one health checker may be set, found ${set.join(', ')}`);
  }
  if (hc.grpc_health_check) {
    const g = hc.grpc_health_check;
    const gpath = `${path}.grpc_health_check`;
    return {
      kind: 'grpc',
      serviceName: String(g.service_name ?? ''),
      authority: String(g.authority ?? ''),
      initialMetadata: headerOptions(g.initial_metadata, `${gpath}.initial_metadata`, ctx),
    };
  }
  if (hc.http_health_check) {
    const h = hc.http_health_check;
    const hpath = `${path}.http_health_check`;
    const p = String(h.path ?? '');
    if (!p) ctx.error(`${hpath}.path`, 'is required');
    if (h.send) ctx.error(`${hpath}.send`, 'a request body is not supported');
    if (h.service_name_matcher) ctx.error(`${hpath}.service_name_matcher`, 'is not supported');
    const method = String(h.method ?? 'METHOD_UNSPECIFIED');
    const m = method === 'METHOD_UNSPECIFIED' ? 'GET' : method;
    if (!HTTP_METHODS.has(m)) ctx.error(`${hpath}.method`, `method ${method} is not allowed for health checks`);
    const codec = String(h.codec_client_type ?? 'HTTP1');
    if (codec !== 'HTTP1' && codec !== 'HTTP2') ctx.error(`${hpath}.codec_client_type`, `${codec} is not supported (HTTP1 or HTTP2)`);
    const expected = statusRanges(h.expected_statuses, `${hpath}.expected_statuses`, ctx);
    return {
      kind: 'http',
      path: p,
      host: String(h.host ?? ''),
      method: m,
      // HttpHealthCheckerImpl: with no expected_statuses only 200 is healthy.
      expectedStatuses: expected.length ? expected : [[200, 201]],
      retriableStatuses: statusRanges(h.retriable_statuses, `${hpath}.retriable_statuses`, ctx),
      requestHeadersToAdd: decodeMutations(h.request_headers_to_add, undefined, hpath, 'request', ctx).add,
      requestHeadersToRemove: (h.request_headers_to_remove ?? []).map((x: unknown) => String(x).toLowerCase()),
      codec: codec === 'HTTP2' ? 'HTTP2' : 'HTTP1',
      receive: payloads(h.receive, `${hpath}.receive`, ctx),
    };
  }
  if (hc.tcp_health_check) {
    const t = hc.tcp_health_check;
    const tpath = `${path}.tcp_health_check`;
    if (t.proxy_protocol_config) ctx.error(`${tpath}.proxy_protocol_config`, 'is not supported');
    return {
      kind: 'tcp',
      send: t.send ? payload(t.send, `${tpath}.send`, ctx) : Buffer.alloc(0),
      receive: payloads(t.receive, `${tpath}.receive`, ctx),
    };
  }
  if (hc.custom_health_check) {
    ctx.error(`${path}.custom_health_check`, `custom health checker "${hc.custom_health_check.name ?? ''}" is not supported (supported: grpc_health_check, http_health_check, tcp_health_check)`);
  }
  return { kind: 'tcp', send: Buffer.alloc(0), receive: [] };
}

function headerOptions(list: ProtoObj[] | undefined, path: string, ctx: DecodeContext): HeaderValueOptionModel[] {
  return (list ?? []).map((o, i) => {
    const key = String(o.header?.key ?? '').toLowerCase();
    if (!key) ctx.error(`${path}[${i}].header.key`, 'header key is required');
    return { key, value: String(o.header?.value ?? ''), action: o.append === false ? 'overwrite' : 'append' };
  });
}

/** Int64Range list; Envoy: "Only statuses in the range [100, 600) are allowed", start < end. */
function statusRanges(list: ProtoObj[] | undefined, path: string, ctx: DecodeContext): Array<[number, number]> {
  return (list ?? []).map((r, i) => {
    const start = Number(r.start ?? 0);
    const end = Number(r.end ?? 0);
    if (start < 100) ctx.error(`${path}[${i}].start`, `status range start must be at least 100, got ${start}`);
    if (end > 600) ctx.error(`${path}[${i}].end`, `status range end must be at most 600, got ${end}`);
    if (end <= start) ctx.error(`${path}[${i}]`, `empty status range [${start}, ${end})`);
    return [start, end];
  });
}

function payloads(list: ProtoObj[] | undefined, path: string, ctx: DecodeContext): Buffer[] {
  return (list ?? []).map((p, i) => payload(p, `${path}[${i}]`, ctx));
}

/** `Payload`: `text` is hex ("000000FF"), `binary` raw bytes. */
function payload(p: ProtoObj, path: string, ctx: DecodeContext): Buffer {
  if (p.text !== undefined) {
    const text = String(p.text);
    if (!/^([0-9a-fA-F]{2})+$/.test(text)) {
      ctx.error(`${path}.text`, `invalid hex payload "${text}"`);
      return Buffer.alloc(0);
    }
    return Buffer.from(text, 'hex');
  }
  if (p.binary !== undefined) return Buffer.from(p.binary as Uint8Array);
  ctx.error(path, 'one of text or binary is required');
  return Buffer.alloc(0);
}
