import { createHash } from 'node:crypto';
import type { CircuitBreakerThresholdsModel, ClusterModel, ClusterType, EndpointModel, LoadAssignmentPolicyModel, UpstreamProtocol } from '../../snapshot/model';
import { DEFAULT_ASSIGNMENT_POLICY } from '../../snapshot/model';
import { decodeLbPolicy } from './lb-policy';
import { decodeAddress } from './address';
import { DecodeContext, durationMs, typeUrlName, type ProtoObj } from './decode-context';
import { decodeHttp2Options, HTTP2_DEFAULTS } from './protocol-options';
import { checkTransportSocket, decodeTransportSocketMatches } from './transport-socket';
import { decodeConfigSource } from './config-source';
import { decodeHealthChecks } from './health-check';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const SUPPORTED_TYPES: readonly ClusterType[] = ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS'];

/** Envoy's circuit-breaker defaults (circuit_breaker.proto). */
const CB_DEFAULTS: CircuitBreakerThresholdsModel = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };

/** Decodes `config.cluster.v3.Cluster` into a model. */
export function decodeCluster(c: ProtoObj, path: string, ctx: DecodeContext): ClusterModel {
  const name = String(c.name ?? '');
  if (!name) ctx.error(`${path}.name`, 'cluster name is required');
  if (c.cluster_type) ctx.error(`${path}.cluster_type`, `custom cluster type "${c.cluster_type.name ?? typeUrlName(c.cluster_type.typed_config)}" is not supported`);
  const type = String(c.type ?? 'STATIC') as ClusterType;
  if (!SUPPORTED_TYPES.includes(type)) {
    ctx.error(`${path}.type`, `cluster type ${type} is not supported yet (supported: ${SUPPORTED_TYPES.join(', ')})`);
  }
  const { lbPolicy, lbConfig } = decodeLbPolicy(c, path, ctx);
  checkTransportSocket(c.transport_socket, `${path}.transport_socket`, ctx);
  const transportSocketMatches = decodeTransportSocketMatches(c.transport_socket_matches, `${path}.transport_socket_matches`, ctx);
  const healthCheck = decodeHealthChecks(c.health_checks, `${path}.health_checks`, ctx);
  if (c.outlier_detection) ctx.warn(`${path}.outlier_detection`, 'outlier detection is not implemented yet');

  const { protocol, http2, idleTimeoutMs } = decodeProtocol(c, path, ctx);
  const endpoints = decodeLoadAssignment(c.load_assignment, `${path}.load_assignment`, ctx);
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
  if (type === 'EDS') {
    const e = c.eds_cluster_config ?? {};
    edsServiceName = e.service_name ? String(e.service_name) : name;
    const cs = decodeConfigSource(e.eds_config, `${path}.eds_cluster_config.eds_config`, ctx);
    if (cs?.kind === 'path') ctx.error(`${path}.eds_cluster_config.eds_config`, 'filesystem EDS is not supported yet; use ads');
    edsInitialFetchTimeoutMs = cs?.initialFetchTimeoutMs ?? 15_000;
    if (c.load_assignment) ctx.warn(`${path}.load_assignment`, 'ignored for EDS clusters: endpoints come from EDS');
  }
  return {
    name,
    observabilityName: c.alt_stat_name ? String(c.alt_stat_name) : name,
    type,
    edsServiceName,
    edsInitialFetchTimeoutMs,
    connectTimeoutMs: durationMs(c.connect_timeout, 5000),
    lbPolicy,
    lbConfig,
    endpoints: type === 'EDS' ? [] : endpoints,
    protocol,
    http2,
    idleTimeoutMs,
    dnsRefreshRateMs: durationMs(c.dns_refresh_rate, 5000),
    dnsLookupFamily: String(c.dns_lookup_family ?? 'AUTO') as ClusterModel['dnsLookupFamily'],
    circuitBreakers: decodeCircuitBreakers(c.circuit_breakers),
    perConnectionBufferLimitBytes: Number(c.per_connection_buffer_limit_bytes ?? 1024 * 1024),
    transportSocketMatches,
    healthCheck,
    healthyPanicThresholdPercent: Number(c.common_lb_config?.healthy_panic_threshold?.value ?? 50),
    ignoreNewHostsUntilFirstHc: c.common_lb_config?.ignore_new_hosts_until_first_hc === true,
    ignoreHealthOnHostRemoval: c.ignore_health_on_host_removal === true,
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

function decodeCircuitBreakers(cb: ProtoObj | undefined): CircuitBreakerThresholdsModel {
  const t = (cb?.thresholds ?? []).find((x: ProtoObj) => (x.priority ?? 'DEFAULT') === 'DEFAULT');
  if (!t) return CB_DEFAULTS;
  return {
    maxConnections: Number(t.max_connections ?? CB_DEFAULTS.maxConnections),
    maxPendingRequests: Number(t.max_pending_requests ?? CB_DEFAULTS.maxPendingRequests),
    maxRequests: Number(t.max_requests ?? CB_DEFAULTS.maxRequests),
    maxRetries: Number(t.max_retries ?? CB_DEFAULTS.maxRetries),
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
