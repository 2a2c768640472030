/**
 * Builds small Envoy v3 bootstraps for integration tests (JSON text, which is also
 * valid YAML), so each test states only what it is about.
 */

export interface TestCluster {
  readonly name: string;
  /** `host:port` endpoints. */
  readonly endpoints: readonly string[];
  readonly http2?: boolean;
  readonly type?: 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS';
  readonly connectTimeout?: string;
  readonly extra?: Record<string, unknown>;
}

export interface TestBootstrap {
  readonly adminPort: number;
  readonly listenerPort: number;
  readonly clusters: readonly TestCluster[];
  /** Route entries; default: everything to the first cluster. */
  readonly routes?: readonly unknown[];
  readonly domains?: readonly string[];
  readonly codec?: 'AUTO' | 'HTTP1' | 'HTTP2';
  readonly accessLogFormat?: string;
  readonly hcmExtra?: Record<string, unknown>;
}

export function clusterJson(c: TestCluster): Record<string, unknown> {
  return {
    name: c.name,
    type: c.type ?? 'STATIC',
    connect_timeout: c.connectTimeout ?? '1s',
    lb_policy: 'ROUND_ROBIN',
    ...(c.http2 === false ? {} : {
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
    }),
    load_assignment: {
      cluster_name: c.name,
      endpoints: [{
        lb_endpoints: c.endpoints.map((e) => {
          const i = e.lastIndexOf(':');
          return { endpoint: { address: { socket_address: { address: e.slice(0, i), port_value: Number(e.slice(i + 1)) } } } };
        }),
      }],
    },
    ...c.extra,
  };
}

export function bootstrapJson(b: TestBootstrap): Record<string, unknown> {
  const routes = b.routes ?? [{ name: 'default', match: { prefix: '/' }, route: { cluster: b.clusters[0]!.name } }];
  return {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: b.adminPort } } },
    static_resources: {
      listeners: [{
        name: 'test_listener',
        address: { socket_address: { address: '127.0.0.1', port_value: b.listenerPort } },
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'test',
              codec_type: b.codec ?? 'AUTO',
              ...(b.accessLogFormat ? {
                access_log: [{
                  name: 'envoy.access_loggers.stdout',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
                    log_format: { text_format_source: { inline_string: b.accessLogFormat } },
                  },
                }],
              } : {}),
              route_config: {
                name: 'local_route',
                virtual_hosts: [{ name: 'local', domains: b.domains ?? ['*'], routes }],
              },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
              ...b.hcmExtra,
            },
          }],
        }],
      }],
      clusters: b.clusters.map(clusterJson),
    },
  };
}

export function bootstrapText(b: TestBootstrap): string {
  return JSON.stringify(bootstrapJson(b), null, 2);
}
