/** proto3-JSON builders for xDS resources used by the integration tests. */
import { TYPE } from '../../src/xds/type-urls';

export { TYPE };

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

export function rdsListener(name: string, port: number, routeConfigName: string, accessLogFormat?: string): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': HCM,
          stat_prefix: name,
          rds: { route_config_name: routeConfigName, config_source: { ads: {}, resource_api_version: 'V3' } },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } }],
          ...(accessLogFormat ? {
            access_log: [{
              name: 'envoy.access_loggers.stdout',
              typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', log_format: { text_format_source: { inline_string: accessLogFormat } } },
            }],
          } : {}),
        },
      }],
    }],
  };
}

export function routeConfig(name: string, routes: unknown[]): Record<string, unknown> {
  return { name, virtual_hosts: [{ name: 'all', domains: ['*'], routes }] };
}

export function edsCluster(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    type: 'EDS',
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    eds_cluster_config: { service_name: name, eds_config: { ads: {}, resource_api_version: 'V3' } },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    ...extra,
  };
}

export function assignment(name: string, addresses: readonly string[]): Record<string, unknown> {
  return {
    cluster_name: name,
    endpoints: [{
      lb_endpoints: addresses.map((a) => {
        const i = a.lastIndexOf(':');
        return { endpoint: { address: { socket_address: { address: a.slice(0, i), port_value: Number(a.slice(i + 1)) } } } };
      }),
    }],
  };
}

/** A bootstrap that takes everything from ADS through a static `xds_cluster`. */
export function adsBootstrap(adminPort: number, cpPort: number, apiType: 'GRPC' | 'DELTA_GRPC' = 'GRPC'): string {
  return JSON.stringify({
    node: { id: 'sidecar~10.0.0.1~test-pod.ns~ns.svc.cluster.local', cluster: 'test-app.ns', metadata: { ISTIO_VERSION: '1.24.0' } },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    dynamic_resources: {
      ads_config: { api_type: apiType, transport_api_version: 'V3', set_node_on_first_message_only: true, grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
      lds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      cds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [{
        name: 'xds-grpc',
        type: 'STATIC',
        connect_timeout: '1s',
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
            explicit_http_config: { http2_protocol_options: {} },
          },
        },
        load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: cpPort } } } }] }] },
      }],
    },
  }, null, 2);
}
