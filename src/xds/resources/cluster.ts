import { createHash } from 'node:crypto';
import type { AdsConfigModel, CircuitBreakerThresholdsModel, ClusterModel, ClusterType, EndpointModel, FileSourceModel, LoadAssignmentPolicyModel, OriginalDstConfigModel, OutlierDetectionModel, UpstreamProtocol } from '../../snapshot/model';
import { DEFAULT_ASSIGNMENT_POLICY } from '../../snapshot/model';
import { decodeLbPolicy } from './lb-policy';
import { decodeAddress } from './address';
import { DecodeContext, durationMs, typeUrlName, type ProtoObj } from './decode-context';
import { decodeHttp2Options, HTTP2_DEFAULTS } from './protocol-options';
import { checkTransportSocket, decodeTransportSocketMatches } from './transport-socket';
import { apiSourceOf, decodeConfigSource, fileSourceOf } from './config-source';
import { decodeHealthChecks } from './health-check';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const SUPPORTED_TYPES: readonly ClusterType[] = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'];

/** Envoy's circuit-breaker defaults (circuit_breaker.proto). */
const CB_DEFAULTS: CircuitBreakerThresholdsModel = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, trackRemaining: false, retryBudget: undefined };

/** Decodes `config.cluster.v3.Cluster` into a model. */
export function decodeCluster(c: ProtoObj, path: string, ctx: DecodeContext): ClusterModel {
  const name = String(c.name ?? '');
  if (!name) ctx.error(`${path}.name`, 'cluster name is required');
  if (c.cluster_type) ctx.error(`${path}.cluster_type`, `custom cluster type "${c.cluster_type.name ?? typeUrlName(c.cluster_type.typed_config)}" is not supported`);
  const type = String(c.type ?? 'STATIC') as ClusterType;
  if (!SUPPORTED_TYPES.includes(type)) {
    ctx.error(`${path}.type`, `cluster type ${type} is not supported yet (supported: ${SUPPORTED_TYPES.join(', ')})`);
  }
  // ORIGINAL_DST picks its own host (the connection's original destination): Envoy requires
  // lb_policy CLUSTER_PROVIDED (or the deprecated ORIGINAL_DST_LB) there, and only there.
  const clusterProvided = c.lb_policy === 'CLUSTER_PROVIDED' || c.lb_policy === 'ORIGINAL_DST_LB';
  if (type === 'ORIGINAL_DST' && c.lb_policy !== undefined && !clusterProvided) {
    ctx.error(`${path}.lb_policy`, `LB policy ${c.lb_policy} is not valid for cluster type ORIGINAL_DST; only CLUSTER_PROVIDED is allowed`);
  } else if (type !== 'ORIGINAL_DST' && clusterProvided) {
    ctx.error(`${path}.lb_policy`, `LB policy ${c.lb_policy} is only valid for cluster type ORIGINAL_DST`);
  }
  const { lbPolicy, lbConfig } = decodeLbPolicy(clusterProvided ? { ...c, lb_policy: undefined } : c, path, ctx);
  const originalDst = type === 'ORIGINAL_DST' ? decodeOriginalDst(c, path, ctx) : undefined;
  if (type !== 'ORIGINAL_DST' && c.original_dst_lb_config) ctx.error(`${path}.original_dst_lb_config`, 'only valid for cluster type ORIGINAL_DST');
  const upstreamBindAddress = decodeBindConfig(c.upstream_bind_config, `${path}.upstream_bind_config`, ctx);
  checkTransportSocket(c.transport_socket, `${path}.transport_socket`, ctx);
  const transportSocketMatches = decodeTransportSocketMatches(c.transport_socket_matches, `${path}.transport_socket_matches`, ctx);
  const healthCheck = decodeHealthChecks(c.health_checks, `${path}.health_checks`, ctx);

  const { protocol, http2, idleTimeoutMs } = decodeProtocol(c, path, ctx);
  const endpoints = decodeLoadAssignment(c.load_assignment, `${path}.load_assignment`, ctx);
  if (type === 'ORIGINAL_DST' && endpoints.length > 0) {
    ctx.error(`${path}.load_assignment`, 'ORIGINAL_DST clusters must have no load assignment configured');
  }
  if (type === 'LOGICAL_DNS' && endpoints.length !== 1) {
    ctx.error(`${path}.load_assignment`, `LOGICAL_DNS clusters must have exactly one endpoint, found ${endpoints.length}`);
  }
  if (type === 'STATIC') {
    endpoints.forEach((e, i) => {
      if (e.address.kind === 'tcp' && !isIp(e.address.host)) {
        ctx.error(`${path}.load_assignment.endpoints[*].lb_endpoints[${i}]`, `STATIC cluster endpoint "${e.address.host}" is not an IP address; use STRICT_DNS or LOGICAL_DNS`);
      }
    });
  }
  let edsServiceName: string | undefined;
  let edsInitialFetchTimeoutMs = 15_000;
  let edsFile: FileSourceModel | undefined;
  let edsApi: AdsConfigModel | undefined;
  if (type === 'EDS') {
    const e = c.eds_cluster_config ?? {};
    edsServiceName = e.service_name ? String(e.service_name) : name;
    const cs = decodeConfigSource(e.eds_config, `${path}.eds_cluster_config.eds_config`, ctx);
    edsFile = fileSourceOf(cs, `${path}.eds_cluster_config.eds_config`, ctx);
    edsApi = apiSourceOf(cs);
    edsInitialFetchTimeoutMs = cs?.initialFetchTimeoutMs ?? 15_000;
    if (c.load_assignment) ctx.warn(`${path}.load_assignment`, 'ignored for EDS clusters: endpoints come from EDS');
  }
  return {
    name,
    observabilityName: c.alt_stat_name ? String(c.alt_stat_name) : name,
    type,
    edsServiceName,
    edsInitialFetchTimeoutMs,
    ...(edsFile ? { edsFile } : {}),
    ...(edsApi ? { edsApi } : {}),
    connectTimeoutMs: durationMs(c.connect_timeout, 5000),
    lbPolicy,
    lbConfig,
    endpoints: type === 'EDS' ? [] : endpoints,
    protocol,
    http2,
    idleTimeoutMs,
    dnsRefreshRateMs: durationMs(c.dns_refresh_rate, 5000),
    dnsLookupFamily: String(c.dns_lookup_family ?? 'AUTO') as ClusterModel['dnsLookupFamily'],
    circuitBreakers: decodeCircuitBreakers(c.circuit_breakers, 'DEFAULT', `${path}.circuit_breakers`, ctx),
    circuitBreakersHigh: decodeCircuitBreakers(c.circuit_breakers, 'HIGH', `${path}.circuit_breakers`, ctx),
    outlierDetection: c.outlier_detection ? decodeOutlierDetection(c.outlier_detection, `${path}.outlier_detection`, ctx) : undefined,
    perConnectionBufferLimitBytes: Number(c.per_connection_buffer_limit_bytes ?? 1024 * 1024),
    transportSocketMatches,
    healthCheck,
    healthyPanicThresholdPercent: Number(c.common_lb_config?.healthy_panic_threshold?.value ?? 50),
    ignoreNewHostsUntilFirstHc: c.common_lb_config?.ignore_new_hosts_until_first_hc === true,
    ignoreHealthOnHostRemoval: c.ignore_health_on_host_removal === true,
    upstreamBindAddress,
    originalDst,
    hash: createHash('sha1').update(JSON.stringify(c)).digest('hex'),
    istioService: istioService(c.metadata),
  };
}

/** `filter_metadata.istio.services[0]`: what Istio's stats filter reports as the destination service. */
function istioService(metadata: ProtoObj | undefined): ClusterModel['istioService'] {
  const services: unknown = metadata?.filter_metadata?.istio?.services;
  if (!Array.isArray(services) || services.length === 0) return undefined;
  const s = services[0] as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return { host: str(s['host']), name: str(s['name']), namespace: str(s['namespace']) };
}

function decodeProtocol(c: ProtoObj, path: string, ctx: DecodeContext): { protocol: UpstreamProtocol; http2: ClusterModel['http2']; idleTimeoutMs: number } {
  let protocol: UpstreamProtocol = 'http1';
  let http2 = HTTP2_DEFAULTS;
  let idleTimeoutMs = durationMs(c.common_http_protocol_options?.idle_timeout, 3_600_000);
  const opts = c.typed_extension_protocol_options ?? {};
  for (const key of Object.keys(opts)) {
    const o = opts[key];
    const kpath = `${path}.typed_extension_protocol_options["${key}"]`;
    if (typeUrlName(o) !== HTTP_PROTOCOL_OPTIONS) {
      ctx.error(kpath, `protocol options of type ${String(o?.['@type'])} are not supported`);
      continue;
    }
    if (o.common_http_protocol_options?.idle_timeout !== undefined) idleTimeoutMs = durationMs(o.common_http_protocol_options.idle_timeout, idleTimeoutMs);
    if (o.explicit_http_config) {
      const e = o.explicit_http_config;
      if (e.http2_protocol_options) {
        protocol = 'http2';
        http2 = decodeHttp2Options(e.http2_protocol_options, `${kpath}.explicit_http_config.http2_protocol_options`, ctx);
      } else if (e.http3_protocol_options) {
        ctx.error(`${kpath}.explicit_http_config.http3_protocol_options`, 'HTTP/3 upstreams are not supported');
      }
    } else if (o.use_downstream_protocol_config) {
      protocol = 'downstream';
      http2 = decodeHttp2Options(o.use_downstream_protocol_config.http2_protocol_options, `${kpath}.use_downstream_protocol_config.http2_protocol_options`, ctx);
    } else if (o.auto_config) {
      // ALPN-based selection needs TLS; over plaintext Envoy's auto_config uses HTTP/1.1
      // unless it knows the peer speaks h2. We follow the plaintext rule.
      if (o.auto_config.http2_protocol_options) http2 = decodeHttp2Options(o.auto_config.http2_protocol_options, `${kpath}.auto_config.http2_protocol_options`, ctx);
      ctx.warn(`${kpath}.auto_config`, 'auto_config over plaintext uses HTTP/1.1 (no ALPN without TLS)');
    }
  }
  if (c.http2_protocol_options) {
    // Deprecated field, still common in older configs: forces HTTP/2 upstream.
    protocol = 'http2';
    http2 = decodeHttp2Options(c.http2_protocol_options, `${path}.http2_protocol_options`, ctx);
  }
  if (c.protocol_selection === 'USE_DOWNSTREAM_PROTOCOL') protocol = 'downstream';
  return { protocol, http2, idleTimeoutMs };
}

/**
 * The thresholds of one priority (Envoy's ResourceManagerImpl per priority). Envoy uses the
 * last entry of a priority when several are given; so do we. per_host_thresholds
 * (max_connections per host) is rejected: not implemented.
 */
function decodeCircuitBreakers(cb: ProtoObj | undefined, priority: 'DEFAULT' | 'HIGH', path: string, ctx: DecodeContext): CircuitBreakerThresholdsModel {
  if (priority === 'DEFAULT' && (cb?.per_host_thresholds ?? []).length) ctx.error(`${path}.per_host_thresholds`, 'per-host circuit breakers are not supported');
  const all: ProtoObj[] = cb?.thresholds ?? [];
  const t = all.filter((x) => (x.priority ?? 'DEFAULT') === priority).pop();
  if (!t) return CB_DEFAULTS;
  let retryBudget: CircuitBreakerThresholdsModel['retryBudget'];
  if (t.retry_budget) {
    const pct = Number(t.retry_budget.budget_percent?.value ?? t.retry_budget.budget_percent ?? 20);
    if (!(pct >= 0 && pct <= 100)) ctx.error(`${path}.thresholds.retry_budget.budget_percent`, `must be in [0, 100], got ${pct}`);
    retryBudget = { budgetPercent: pct, minRetryConcurrency: Number(t.retry_budget.min_retry_concurrency ?? 3) };
  }
  return {
    maxConnections: Number(t.max_connections ?? CB_DEFAULTS.maxConnections),
    maxPendingRequests: Number(t.max_pending_requests ?? CB_DEFAULTS.maxPendingRequests),
    maxRequests: Number(t.max_requests ?? CB_DEFAULTS.maxRequests),
    maxRetries: Number(t.max_retries ?? CB_DEFAULTS.maxRetries),
    trackRemaining: t.track_remaining === true,
    retryBudget,
  };
}

/** `outlier_detection` with Envoy's defaults (outlier_detection.proto, outlier_detection_impl.h). */
function decodeOutlierDetection(o: ProtoObj, path: string, ctx: DecodeContext): OutlierDetectionModel {
  const n = (v: unknown, d: number): number => (v === undefined || v === null ? d : Number(v));
  const pct = (k: string, d: number): number => {
    const v = n(o[k], d);
    if (!(v >= 0 && v <= 100)) ctx.error(`${path}.${k}`, `must be a percentage in [0, 100], got ${v}`);
    return v;
  };
  const baseEjectionTimeMs = durationMs(o.base_ejection_time, 30_000);
  const intervalMs = durationMs(o.interval, 10_000);
  if (!(intervalMs > 0)) ctx.error(`${path}.interval`, 'must be greater than 0');
  const maxEjectionTimeMs = durationMs(o.max_ejection_time, Math.max(300_000, baseEjectionTimeMs));
  if (maxEjectionTimeMs < baseEjectionTimeMs) ctx.error(`${path}.max_ejection_time`, "outlier detector's max_ejection_time cannot be smaller than base_ejection_time");
  const stdev = n(o.success_rate_stdev_factor, 1900);
  if (o.detect_degraded_hosts === true) ctx.warn(`${path}.detect_degraded_hosts`, 'degraded-host detection is not implemented: hosts answering x-envoy-degraded stay healthy');
  if (o.monitors !== undefined && (o.monitors ?? []).length) ctx.error(`${path}.monitors`, 'outlier detection monitor extensions are not supported');
  return {
    consecutive5xx: n(o.consecutive_5xx, 5),
    consecutiveGatewayFailure: n(o.consecutive_gateway_failure, 5),
    consecutiveLocalOriginFailure: n(o.consecutive_local_origin_failure, 5),
    intervalMs,
    baseEjectionTimeMs,
    maxEjectionTimeMs,
    maxEjectionTimeJitterMs: durationMs(o.max_ejection_time_jitter, 0),
    maxEjectionPercent: Math.min(100, n(o.max_ejection_percent, 10)),
    alwaysEjectOneHost: o.always_eject_one_host === true,
    enforcingConsecutive5xx: pct('enforcing_consecutive_5xx', 100),
    enforcingConsecutiveGatewayFailure: pct('enforcing_consecutive_gateway_failure', 0),
    enforcingConsecutiveLocalOriginFailure: pct('enforcing_consecutive_local_origin_failure', 100),
    enforcingSuccessRate: pct('enforcing_success_rate', 100),
    enforcingLocalOriginSuccessRate: pct('enforcing_local_origin_success_rate', 100),
    enforcingFailurePercentage: pct('enforcing_failure_percentage', 0),
    enforcingFailurePercentageLocalOrigin: pct('enforcing_failure_percentage_local_origin', 0),
    splitExternalLocalOriginErrors: o.split_external_local_origin_errors === true,
    successRateMinimumHosts: n(o.success_rate_minimum_hosts, 5),
    successRateRequestVolume: n(o.success_rate_request_volume, 100),
    successRateStdevFactor: stdev / 1000,
    failurePercentageThreshold: pct('failure_percentage_threshold', 85),
    failurePercentageMinimumHosts: n(o.failure_percentage_minimum_hosts, 5),
    failurePercentageRequestVolume: n(o.failure_percentage_request_volume, 50),
    successfulActiveHealthCheckUnejectHost: o.successful_active_health_check_uneject_host !== false,
  };
}

/** Decodes `config.endpoint.v3.ClusterLoadAssignment` into a flat endpoint list. */
export function decodeLoadAssignment(la: ProtoObj | undefined, path: string, ctx: DecodeContext): EndpointModel[] {
  const out: EndpointModel[] = [];
  const assignmentPolicy = decodeAssignmentPolicy(la?.policy, `${path}.policy`, ctx);
  (la?.endpoints ?? []).forEach((loc: ProtoObj, i: number) => {
    const lpath = `${path}.endpoints[${i}]`;
    const locality = { region: String(loc.locality?.region ?? ''), zone: String(loc.locality?.zone ?? ''), subZone: String(loc.locality?.sub_zone ?? '') };
    const priority = Number(loc.priority ?? 0);
    if (priority > 128) ctx.error(`${lpath}.priority`, 'must be at most 128');
    const localityWeight = Number(loc.load_balancing_weight ?? 0);
    if (loc.load_balancing_weight !== undefined && localityWeight < 1) ctx.error(`${lpath}.load_balancing_weight`, 'must be at least 1');
    (loc.lb_endpoints ?? []).forEach((e: ProtoObj, j: number) => {
      const epath = `${lpath}.lb_endpoints[${j}]`;
      if (e.endpoint_name) {
        ctx.error(`${epath}.endpoint_name`, 'named endpoints are not supported');
        return;
      }
      const address = decodeAddress(e.endpoint?.address, `${epath}.endpoint.address`, ctx);
      if (!address) return;
      const weight = Number(e.load_balancing_weight ?? 1);
      if (weight < 1) ctx.error(`${epath}.load_balancing_weight`, 'must be at least 1');
      out.push({
        address,
        hostname: String(e.endpoint?.hostname ?? ''),
        weight,
        priority,
        healthStatus: String(e.health_status ?? 'UNKNOWN') as EndpointModel['healthStatus'],
        locality,
        transportSocketMatchMetadata: (e.metadata?.filter_metadata?.['envoy.transport_socket_match'] ?? {}) as Record<string, unknown>,
        localityWeight,
        hashKey: typeof e.metadata?.filter_metadata?.['envoy.lb']?.hash_key === 'string' ? e.metadata.filter_metadata['envoy.lb'].hash_key : '',
        assignmentPolicy,
        istioWorkload: typeof e.metadata?.filter_metadata?.istio?.workload === 'string' ? e.metadata.filter_metadata.istio.workload : undefined,
      });
    });
  });
  return out;
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

/** `ClusterLoadAssignment.policy`: the overprovisioning factor and weighted_priority_health. */
function decodeAssignmentPolicy(p: ProtoObj | undefined, path: string, ctx: DecodeContext): LoadAssignmentPolicyModel {
  if (!p) return DEFAULT_ASSIGNMENT_POLICY;
  const factor = Number(p.overprovisioning_factor ?? 140);
  if (!(factor > 0)) ctx.error(`${path}.overprovisioning_factor`, 'must be greater than 0');
  if ((p.drop_overloads ?? []).length) ctx.warn(`${path}.drop_overloads`, 'drop_overloads is not implemented: no request is dropped');
  return { overprovisioningFactor: factor, weightedPriorityHealth: p.weighted_priority_health === true };
}

/** `original_dst_lb_config` and `cleanup_interval` of an ORIGINAL_DST cluster. */
function decodeOriginalDst(c: ProtoObj, path: string, ctx: DecodeContext): OriginalDstConfigModel {
  const o = c.original_dst_lb_config ?? {};
  if (o.metadata_key) ctx.error(`${path}.original_dst_lb_config.metadata_key`, 'metadata_key is not supported');
  const portOverride = o.upstream_port_override !== undefined ? Number(o.upstream_port_override) : undefined;
  if (portOverride !== undefined && !(portOverride >= 1 && portOverride <= 65535)) ctx.error(`${path}.original_dst_lb_config.upstream_port_override`, 'must be in 1..65535');
  return {
    useHttpHeader: o.use_http_header === true,
    httpHeaderName: String(o.http_header_name || 'x-envoy-original-dst-host').toLowerCase(),
    portOverride,
    cleanupIntervalMs: durationMs(c.cleanup_interval, 5000),
  };
}

/** `upstream_bind_config` (`config.core.v3.BindConfig`): the source address of upstream connections. */
function decodeBindConfig(b: ProtoObj | undefined, path: string, ctx: DecodeContext): ClusterModel['upstreamBindAddress'] {
  if (!b) return undefined;
  if (b.freebind === true) ctx.error(`${path}.freebind`, 'freebind is not supported');
  if ((b.socket_options ?? []).length) ctx.error(`${path}.socket_options`, 'socket options are not supported');
  if ((b.additional_source_addresses ?? b.extra_source_addresses ?? []).length) ctx.error(`${path}.extra_source_addresses`, 'extra source addresses are not supported');
  if (b.local_address_selector) ctx.error(`${path}.local_address_selector`, 'custom local address selectors are not supported');
  const sa = b.source_address;
  if (!sa) {
    ctx.error(`${path}.source_address`, 'source_address is required');
    return undefined;
  }
  const host = String(sa.address ?? '');
  if (!isIp(host)) ctx.error(`${path}.source_address.address`, `"${host}" is not an IP address`);
  const port = Number(sa.port_value ?? 0);
  if (!(port >= 0 && port <= 65535)) ctx.error(`${path}.source_address.port_value`, `invalid port ${sa.port_value}`);
  return { host, port };
}
