/**
 * A static bootstrap shaped like the one istiod gives a sidecar, for the memory and start-up
 * benchmark (bench/macro/idle-and-startup.ts): N services, each an `outbound|<port>||<fqdn>`
 * cluster with two endpoints and Istio's circuit breakers, and a virtual host with Istio's
 * twelve domains, default retry policy and decorator, all on one outbound HTTP listener whose
 * HCM carries Istio's HTTP filter chain (metadata exchange, grpc_stats, alpn, fault, cors,
 * istio.stats, router). Shapes follow ../shared/fixtures/istio-config-dumps; what a static
 * bootstrap cannot hold (EDS, RDS, mTLS secrets from SDS) is inlined or left out.
 */

/** Ports of a generated bootstrap; every endpoint points at `backendPort` on 127.0.0.1. */
export interface SidecarBootstrapOptions {
  readonly services: number;
  readonly adminPort: number;
  readonly listenerPort: number;
  readonly backendPort: number;
}

/** The FQDN of service `i` (its first virtual-host domain). */
export function serviceHost(i: number): string {
  return `svc-${i}.bench.svc.cluster.local`;
}

const SERVICE_PORT = 8080;

/** Envoy v3 bootstrap as a JSON object (Istio's pilot-agent writes envoy-rev.json). */
export function sidecarBootstrap(o: SidecarBootstrapOptions): unknown {
  const services = Array.from({ length: o.services }, (_, i) => i);
  return {
    node: { id: 'sidecar~10.0.0.1~bench-0.bench~bench.svc.cluster.local', cluster: 'bench.bench', metadata: { ISTIO_VERSION: '1.24.0' } },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: o.adminPort } } },
    static_resources: {
      listeners: [
        {
          name: `0.0.0.0_${SERVICE_PORT}`,
          address: { socket_address: { address: '127.0.0.1', port_value: o.listenerPort } },
          traffic_direction: 'OUTBOUND',
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm(services) }] }],
        },
      ],
      clusters: services.map((i) => cluster(i, o.backendPort)),
    },
  };
}

function hcm(services: number[]): unknown {
  return {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: `outbound_0.0.0.0_${SERVICE_PORT}`,
    codec_type: 'AUTO',
    use_remote_address: false,
    normalize_path: true,
    path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
    request_id_extension: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig', use_request_id_for_trace_sampling: true } },
    stream_idle_timeout: '0s',
    route_config: { name: String(SERVICE_PORT), validate_clusters: false, virtual_hosts: services.map(virtualHost) },
    http_filters: [
      {
        name: 'istio.metadata_exchange',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
          config: {
            vm_config: { runtime: 'envoy.wasm.runtime.null', code: { local: { inline_string: 'envoy.wasm.metadata_exchange' } } },
            configuration: { '@type': 'type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange' },
          },
        },
      },
      { name: 'envoy.filters.http.grpc_stats', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig', emit_filter_state: true, stats_for_all_methods: false } },
      { name: 'envoy.filters.http.fault', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault' } },
      { name: 'envoy.filters.http.cors', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' } },
      { name: 'istio.stats', typed_config: { '@type': 'type.googleapis.com/stats.PluginConfig' } },
      { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
    ],
  };
}

function virtualHost(i: number): unknown {
  const fqdn = serviceHost(i);
  const short = `svc-${i}`;
  const ip = `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  const names = [fqdn, `${short}.bench.svc.cluster`, `${short}.bench.svc`, `${short}.bench`, short, ip];
  return {
    name: `${fqdn}:${SERVICE_PORT}`,
    domains: names.flatMap((n) => [n, `${n}:${SERVICE_PORT}`]),
    routes: [
      {
        name: 'default',
        match: { prefix: '/' },
        route: {
          cluster: clusterName(i),
          timeout: '0s',
          retry_policy: {
            retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
            num_retries: 2,
            retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
            host_selection_retry_max_attempts: '5',
            retriable_status_codes: [503],
          },
          max_grpc_timeout: '0s',
        },
        decorator: { operation: `${fqdn}:${SERVICE_PORT}/*` },
      },
    ],
    include_request_attempt_count: true,
  };
}

function clusterName(i: number): string {
  return `outbound|${SERVICE_PORT}||${serviceHost(i)}`;
}

function cluster(i: number, backendPort: number): unknown {
  const endpoint = { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: backendPort } } }, load_balancing_weight: 1 };
  return {
    name: clusterName(i),
    type: 'STATIC',
    connect_timeout: '10s',
    lb_policy: 'LEAST_REQUEST',
    circuit_breakers: {
      thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295, track_remaining: true }],
    },
    common_lb_config: { locality_weighted_lb_config: {} },
    metadata: { filter_metadata: { istio: { services: [{ host: serviceHost(i), name: `svc-${i}`, namespace: 'bench' }] } } },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        common_http_protocol_options: { idle_timeout: '3600s' },
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: { cluster_name: clusterName(i), endpoints: [{ locality: {}, lb_endpoints: [endpoint, endpoint] }] },
  };
}
