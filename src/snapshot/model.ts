/**
 * Plain, readonly configuration models. They are built once from decoded Envoy
 * protos (src/xds/resources/*) and never see a proto again: units are in the
 * names (`timeoutMs`), defaults are filled in, enums are string unions.
 *
 * Nothing here is mutated after it is built; a config change builds new models.
 */
import type { OverloadManagerModel } from '../overload/overload-model';
import type { AccessLogFilterModel } from '../access-log/filter-model';

export type SocketAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'pipe'; readonly path: string };

/** `host:port` (IPv6 in brackets) or the pipe path, as Envoy prints addresses. */
export function formatAddress(a: SocketAddress): string {
  if (a.kind === 'pipe') return a.path;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export interface NodeModel {
  readonly id: string;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly locality: { readonly region: string; readonly zone: string; readonly subZone: string };
}

export interface AdminModel {
  readonly address: SocketAddress;
}

// === Listeners ===

export type CodecType = 'AUTO' | 'HTTP1' | 'HTTP2';

export interface HeaderValueOptionModel {
  readonly key: string;
  readonly value: string;
  /** Envoy `append_action`: APPEND_IF_EXISTS_OR_ADD (default) | ADD_IF_ABSENT | OVERWRITE_IF_EXISTS_OR_ADD | OVERWRITE_IF_EXISTS */
  readonly action: 'append' | 'add_if_absent' | 'overwrite' | 'overwrite_if_exists';
}

export interface HeaderMutationsModel {
  readonly add: readonly HeaderValueOptionModel[];
  readonly remove: readonly string[];
}

export interface AccessLogModel {
  readonly name: string;
  /** Where lines go. */
  readonly sink: { readonly kind: 'file'; readonly path: string } | { readonly kind: 'stdout' } | { readonly kind: 'stderr' };
  /** Only requests this filter accepts are logged (undefined: all). */
  readonly filter: AccessLogFilterModel | undefined;
  /** Text format (Envoy command operators), or a JSON dictionary of formats. */
  readonly format: { readonly kind: 'text'; readonly text: string } | { readonly kind: 'json'; readonly fields: Readonly<Record<string, unknown>>; readonly typed: boolean };
}

export interface Http2OptionsModel {
  /** http2_protocol_options.max_concurrent_streams; Envoy default 2147483647. */
  readonly maxConcurrentStreams: number;
  /** initial_stream_window_size; Envoy default 268435456 (256 MiB). */
  readonly initialStreamWindowSize: number;
  /** initial_connection_window_size; Envoy default 268435456 (256 MiB). */
  readonly initialConnectionWindowSize: number;
  /** connection_keepalive.interval in ms; 0 = no keepalive PINGs. */
  readonly keepaliveIntervalMs: number;
  /** connection_keepalive.timeout in ms. */
  readonly keepaliveTimeoutMs: number;
  /** Flood protection (Envoy defaults 10000, 1000, 1, 100, 10); see docs/compat.md for how each is enforced. */
  readonly maxOutboundFrames: number;
  readonly maxOutboundControlFrames: number;
  readonly maxConsecutiveInboundFramesWithEmptyPayload: number;
  readonly maxInboundPriorityFramesPerStream: number;
  readonly maxInboundWindowUpdateFramesPerDataFrameSent: number;
  /** stream_error_on_invalid_http_messaging (Envoy default false). */
  readonly streamErrorOnInvalidHttpMessaging: boolean;
}

export interface HttpConnectionManagerModel {
  readonly kind: 'http_connection_manager';
  readonly statPrefix: string;
  readonly codec: CodecType;
  /** Where routes come from: inline, or RDS by name. */
  readonly routeSource: RouteSourceModel;
  readonly accessLogs: readonly AccessLogModel[];
  readonly useRemoteAddress: boolean;
  readonly skipXffAppend: boolean;
  readonly generateRequestId: boolean;
  readonly preserveExternalRequestId: boolean;
  /** `server` response header value (Envoy default "envoy"; Legate sends "envoy" too for compatibility). */
  readonly serverName: string;
  readonly serverHeaderTransformation: 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';
  /** stream_idle_timeout: Envoy default 5 min; 0 disables. */
  readonly streamIdleTimeoutMs: number;
  /** request_timeout; 0 (default) disables. */
  readonly requestTimeoutMs: number;
  /** common_http_protocol_options.idle_timeout for downstream connections; Envoy default 1h. */
  readonly idleTimeoutMs: number;
  /** drain_timeout: time between the first and the final GOAWAY; Envoy default 5 s. */
  readonly drainTimeoutMs: number;
  readonly http2: Http2OptionsModel;
  readonly maxRequestHeadersKb: number;
  /** common_http_protocol_options.max_headers_count (Envoy default 100), pseudo-headers included. */
  readonly maxHeadersCount: number;
  /** Router `suppress_envoy_headers`: add no x-envoy-* headers. */
  readonly suppressEnvoyHeaders: boolean;
  /** The HTTP filters in config order (router last); compiled into the filter chain once per HCM. */
  readonly httpFilters: readonly import('../extensions/registry').HttpFilterModel[];
  /** common_http_protocol_options.headers_with_underscores_action (Envoy default ALLOW). */
  readonly headersWithUnderscoresAction: 'ALLOW' | 'REJECT_REQUEST' | 'DROP_HEADER';
  /** Istio's stats filter (`istio.stats`), when the chain has one: Istio's standard metrics. */
  readonly istioStats?: IstioStatsFilterModel | undefined;
}

/** Istio's stats filter config (`stats.PluginConfig`, or the older Wasm `envoy.wasm.stats` form). */
export interface IstioStatsFilterModel {
  /** `reporter`: UNSPECIFIED = from the listener direction; SERVER_GATEWAY = a waypoint. */
  readonly reporter: 'UNSPECIFIED' | 'SERVER_GATEWAY';
  /** `disable_host_header_fallback`: do not use the Host header for destination_service. */
  readonly disableHostHeaderFallback: boolean;
  /** Standard metrics (`requests_total`, ...) dropped by a `metrics[].drop` override. */
  readonly droppedMetrics: readonly string[];
  /** `metrics[].tags_to_remove`, by metric name ('' = every metric). */
  readonly tagsToRemove: Readonly<Record<string, readonly string[]>>;
}

export type RouteSourceModel =
  | { readonly kind: 'inline'; readonly config: RouteConfigModel }
  | {
    readonly kind: 'rds';
    readonly name: string;
    readonly initialFetchTimeoutMs: number;
    /** `config_source` is a file (path_config_source / path); absent: through ADS. */
    readonly file?: FileSourceModel;
    /** `config_source` is a per-type gRPC `api_config_source` (its own stream); absent: through ADS. */
    readonly api?: AdsConfigModel;
  };

export interface FilterChainModel {
  readonly name: string;
  /** `filter_chain_match` (all fields empty: matches every connection). */
  readonly match: FilterChainMatchModel;
  /** The terminal network filter: exactly one of `hcm` and `tcpProxy` is set. */
  readonly hcm: HttpConnectionManagerModel | undefined;
  readonly tcpProxy: TcpProxyModel | undefined;
}

/** An IP prefix (`config.core.v3.CidrRange`), parsed once: `bits` is the address as a number. */
export interface CidrModel {
  readonly family: 4 | 6;
  readonly bits: bigint;
  readonly prefixLen: number;
  /** As configured, for messages. */
  readonly text: string;
}

/** `config.listener.v3.FilterChainMatch`; empty lists / undefined mean "any". */
export interface FilterChainMatchModel {
  readonly destinationPort: number | undefined;
  readonly prefixRanges: readonly CidrModel[];
  readonly directSourcePrefixRanges: readonly CidrModel[];
  readonly serverNames: readonly string[];
  /** '' = any; "raw_buffer", "tls" or what a listener filter detected. */
  readonly transportProtocol: string;
  readonly applicationProtocols: readonly string[];
  readonly sourceType: 'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL';
  readonly sourcePrefixRanges: readonly CidrModel[];
  readonly sourcePorts: readonly number[];
}

/** `envoy.filters.network.tcp_proxy`. */
export interface TcpProxyModel {
  readonly kind: 'tcp_proxy';
  readonly statPrefix: string;
  /** `cluster`, or `weighted_clusters` (picked per connection by weight). */
  readonly clusters: readonly { readonly name: string; readonly weight: number }[];
  /** `idle_timeout`: Envoy default 1 h; 0 disables. */
  readonly idleTimeoutMs: number;
  /** `max_downstream_connection_duration`; 0 = none. */
  readonly maxDownstreamConnectionDurationMs: number;
}

/** `ListenerFilterChainMatchPredicate` (a listener filter's `filter_disabled`). */
export type ListenerFilterPredicateModel =
  | { readonly kind: 'any' }
  | { readonly kind: 'or' | 'and'; readonly rules: readonly ListenerFilterPredicateModel[] }
  | { readonly kind: 'not'; readonly rule: ListenerFilterPredicateModel }
  | { readonly kind: 'destination_port_range'; readonly start: number; readonly end: number };

export interface ListenerFilterModel {
  readonly kind: 'original_dst' | 'tls_inspector' | 'http_inspector';
  /** `filter_disabled`: the filter is skipped for connections this matches. */
  readonly disabled: ListenerFilterPredicateModel | undefined;
}

export interface ListenerModel {
  readonly name: string;
  readonly address: SocketAddress;
  readonly filterChains: readonly FilterChainModel[];
  /** `default_filter_chain`: used when no chain matches. */
  readonly defaultFilterChain: FilterChainModel | undefined;
  readonly trafficDirection: 'UNSPECIFIED' | 'INBOUND' | 'OUTBOUND';
  /** Envoy `per_connection_buffer_limit_bytes`, default 1 MiB. */
  readonly perConnectionBufferLimitBytes: number;
  /** `listener_filters` in order (an implicit original_dst is appended when `use_original_dst`, as Envoy does). */
  readonly listenerFilters: readonly ListenerFilterModel[];
  /** `listener_filters_timeout`: Envoy default 15 s; 0 disables. */
  readonly listenerFiltersTimeoutMs: number;
  readonly continueOnListenerFiltersTimeout: boolean;
  /** `use_original_dst`: hand a redirected connection to the listener of its original destination. */
  readonly useOriginalDst: boolean;
  /** `bind_to_port` (default true); false: only reached by a use_original_dst hand-off. */
  readonly bindToPort: boolean;
  /** `transparent`: IP_TRANSPARENT (TPROXY); the accepted socket's local address is the original destination. */
  readonly transparent: boolean;
}

/** A listener's filter chains, the default chain last. */
export function listenerChains(l: ListenerModel): readonly FilterChainModel[] {
  return l.defaultFilterChain ? [...l.filterChains, l.defaultFilterChain] : l.filterChains;
}

// === Routes ===

export type StringMatcherModel =
  | { readonly kind: 'exact' | 'prefix' | 'suffix' | 'contains'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: 'regex'; readonly regex: string };

export type HeaderMatcherModel = {
  readonly name: string;
  readonly invert: boolean;
  readonly treatMissingAsEmpty: boolean;
  readonly match:
    | { readonly kind: 'string'; readonly matcher: StringMatcherModel }
    | { readonly kind: 'present'; readonly present: boolean }
    | { readonly kind: 'range'; readonly start: number; readonly end: number };
};

export interface QueryParameterMatcherModel {
  readonly name: string;
  readonly match: { readonly kind: 'string'; readonly matcher: StringMatcherModel } | { readonly kind: 'present' };
}

export interface RouteMatchModel {
  readonly path:
    | { readonly kind: 'prefix'; readonly value: string }
    | { readonly kind: 'path'; readonly value: string }
    | { readonly kind: 'regex'; readonly regex: string }
    | { readonly kind: 'path_separated_prefix'; readonly value: string };
  readonly caseSensitive: boolean;
  readonly headers: readonly HeaderMatcherModel[];
  readonly queryParameters: readonly QueryParameterMatcherModel[];
  /** `grpc: {}`: only requests with a gRPC content type. */
  readonly grpc: boolean;
  /**
   * runtime_fraction's default_value as parts per million (Legate has no runtime layer, so the
   * default always applies); undefined = no runtime_fraction.
   */
  readonly runtimeFractionPerMillion?: number | undefined;
}

export interface WeightedClusterModel {
  readonly name: string;
  readonly weight: number;
  readonly requestHeaders: HeaderMutationsModel;
  readonly responseHeaders: HeaderMutationsModel;
}

export type ClusterSpecifierModel =
  | { readonly kind: 'cluster'; readonly name: string }
  | { readonly kind: 'weighted'; readonly clusters: readonly WeightedClusterModel[] }
  | { readonly kind: 'header'; readonly header: string };

export interface RouteActionModel {
  readonly kind: 'route';
  readonly cluster: ClusterSpecifierModel;
  /** Route timeout; Envoy default 15 s; 0 disables. */
  readonly timeoutMs: number;
  /**
   * Cap on the client's `grpc-timeout` (max_stream_duration.grpc_timeout_header_max or the
   * deprecated max_grpc_timeout). `undefined`: grpc-timeout is ignored (Envoy's behaviour when
   * neither is set). 0: honoured without a cap.
   */
  readonly grpcTimeoutHeaderMaxMs: number | undefined;
  readonly grpcTimeoutHeaderOffsetMs: number;
  /** max_stream_duration.max_stream_duration; 0/undefined = none. */
  readonly maxStreamDurationMs: number;
  readonly prefixRewrite: string | undefined;
  readonly hostRewriteLiteral: string | undefined;
  /** cluster_not_found_response_code: 503 (default), 404 or 500. */
  readonly clusterNotFoundStatus: number;
  /** The route's retry_policy, else the virtual host's; undefined: no retries. */
  readonly retryPolicy: RetryPolicyModel | undefined;
  /** `priority`: which circuit-breaker thresholds of the cluster apply (DEFAULT or HIGH). */
  readonly priority: 'DEFAULT' | 'HIGH';
  /** regex_rewrite of the path (query string kept), applied after prefix_rewrite is ruled out. */
  readonly regexRewrite: { readonly regex: string; readonly substitution: string } | undefined;
  /** `idle_timeout`: per-route stream idle timeout; undefined = the connection manager's; 0 disables. */
  readonly idleTimeoutMs: number | undefined;
  /** `hash_policy` in order (empty: none); used by RING_HASH and MAGLEV clusters. */
  readonly hashPolicy: readonly HashPolicyModel[];
}

/** One `RouteAction.HashPolicy` (Envoy's hash_policy.cc); `filter_state` is rejected. */
export type HashPolicyModel = { readonly terminal: boolean } & (
  | {
    readonly kind: 'header';
    /** Lower-case header name (pseudo-headers such as `:authority` work too). */
    readonly name: string;
    /** header.regex_rewrite: applied to each value before hashing. */
    readonly regexRewrite: { readonly regex: string; readonly substitution: string } | undefined;
  }
  | {
    readonly kind: 'cookie';
    readonly name: string;
    /** With a ttl Envoy generates the cookie when absent; Legate only reads it (see docs/compat.md). */
    readonly ttlMs: number | undefined;
    readonly path: string;
  }
  | { readonly kind: 'source_ip' }
  | { readonly kind: 'query_parameter'; readonly name: string }
);

/** `config.route.v3.RetryPolicy`, decoded. */
export interface RetryPolicyModel {
  /** retry_on conditions (HTTP and gRPC names as in Envoy). */
  readonly retryOn: ReadonlySet<string>;
  /** num_retries (Envoy default 1). */
  readonly numRetries: number;
  /** per_try_timeout; 0 = none. */
  readonly perTryTimeoutMs: number;
  readonly retriableStatusCodes: ReadonlySet<number>;
  /** retry_back_off: fully jittered exponential, base 25 ms, max 10 × base by default. */
  readonly backOffBaseMs: number;
  readonly backOffMaxMs: number;
  /** retry_host_predicate envoy.retry_host_predicates.previous_hosts. */
  readonly previousHosts: boolean;
  /** host_selection_retry_max_attempts (default 1). */
  readonly hostSelectionRetryMaxAttempts: number;
}

export interface DirectResponseModel {
  readonly kind: 'direct_response';
  readonly status: number;
  readonly body: string | undefined;
}

export interface RedirectModel {
  readonly kind: 'redirect';
  readonly status: number;
  readonly hostRedirect: string | undefined;
  readonly pathRedirect: string | undefined;
  readonly schemeRedirect: string | undefined;
}

export interface RouteModel {
  readonly name: string;
  readonly match: RouteMatchModel;
  readonly action: RouteActionModel | DirectResponseModel | RedirectModel;
  readonly requestHeaders: HeaderMutationsModel;
  readonly responseHeaders: HeaderMutationsModel;
}

export interface VirtualHostModel {
  readonly name: string;
  readonly domains: readonly string[];
  readonly routes: readonly RouteModel[];
  readonly includeRequestAttemptCount: boolean;
  readonly requestHeaders: HeaderMutationsModel;
  readonly responseHeaders: HeaderMutationsModel;
}

export interface RouteConfigModel {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHostModel[];
  readonly ignorePortInHostMatching: boolean;
  readonly requestHeaders: HeaderMutationsModel;
  readonly responseHeaders: HeaderMutationsModel;
}

// === Clusters ===

export type ClusterType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';
export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV';
export type UpstreamProtocol = 'http1' | 'http2' | 'downstream';

export interface EndpointModel {
  readonly address: SocketAddress;
  readonly hostname: string;
  readonly weight: number;
  readonly priority: number;
  readonly healthStatus: 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';
  readonly locality: { readonly region: string; readonly zone: string; readonly subZone: string };
  /** filter_metadata["envoy.transport_socket_match"]: selects a cluster transport_socket_matches entry. */
  readonly transportSocketMatchMetadata: Readonly<Record<string, unknown>>;
  /** LocalityLbEndpoints.load_balancing_weight of the endpoint's locality (0 when unset). */
  readonly localityWeight: number;
  /** filter_metadata["envoy.lb"].hash_key: the endpoint's key on a hash ring / Maglev table ('' = address). */
  readonly hashKey: string;
  /** The ClusterLoadAssignment.policy this endpoint came with (one shared object per assignment). */
  readonly assignmentPolicy: LoadAssignmentPolicyModel;
  /**
   * filter_metadata["istio"].workload (istiod's `<workload>;<namespace>;<canonical service>;<canonical
   * revision>;<cluster id>`): the peer labels Istio's stats filter reports for this endpoint.
   */
  readonly istioWorkload?: string | undefined;
}

/** `ClusterLoadAssignment.policy`. */
export interface LoadAssignmentPolicyModel {
  /** overprovisioning_factor in percent (default 140 = 1.4). */
  readonly overprovisioningFactor: number;
  /** weighted_priority_health: priority health from endpoint weights instead of host counts. */
  readonly weightedPriorityHealth: boolean;
}

export const DEFAULT_ASSIGNMENT_POLICY: LoadAssignmentPolicyModel = Object.freeze({ overprovisioningFactor: 140, weightedPriorityHealth: false });

/** Load-balancer settings beyond the policy name (cluster *_lb_config or the typed load_balancing_policy). */
export interface LbConfigModel {
  /** least_request: choice_count (default 2). */
  readonly choiceCount: number;
  /** least_request: active_request_bias when set explicitly (then weighted selection is always used); undefined = 1.0. */
  readonly activeRequestBias: number | undefined;
  /** least_request: selection_method (typed policy only). */
  readonly selectionMethod: 'N_CHOICES' | 'FULL_SCAN';
  /** ring_hash: minimum_ring_size (default 1024) / maximum_ring_size (default 8M). */
  readonly minRingSize: number;
  readonly maxRingSize: number;
  /** maglev: table_size (prime, default 65537). */
  readonly maglevTableSize: number;
  /** consistent_hashing_lb_config.use_hostname_for_hashing. */
  readonly useHostnameForHashing: boolean;
  /** common_lb_config.locality_weighted_lb_config (or the typed policy's locality_lb_config). */
  readonly localityWeighted: boolean;
}

/** One `transport_socket_matches` entry: endpoints whose metadata matches use this socket. */
export interface TransportSocketMatchModel {
  readonly name: string;
  readonly match: Readonly<Record<string, unknown>>;
  /** False for TLS: Legate cannot speak it, so matching endpoints are left out of load balancing. */
  readonly plaintext: boolean;
}

export interface CircuitBreakerThresholdsModel {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
  /** track_remaining: publish `circuit_breakers.<priority>.remaining_*` gauges. */
  readonly trackRemaining: boolean;
  /**
   * retry_budget: active retries may be `budgetPercent`% of active + pending requests, but at
   * least `minRetryConcurrency` (Envoy defaults 20% and 3). Replaces max_retries when set.
   */
  readonly retryBudget: { readonly budgetPercent: number; readonly minRetryConcurrency: number } | undefined;
}

/** `outlier_detection` (config.cluster.v3.OutlierDetection), with Envoy's defaults filled in. */
export interface OutlierDetectionModel {
  readonly consecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
  readonly consecutiveLocalOriginFailure: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  /** max_ejection_time (default max(300 s, base_ejection_time)). */
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionTimeJitterMs: number;
  readonly maxEjectionPercent: number;
  readonly alwaysEjectOneHost: boolean;
  /** enforcing_* in percent (consecutive_5xx 100, gateway 0, local origin 100, success rate 100, failure % 0). */
  readonly enforcingConsecutive5xx: number;
  readonly enforcingConsecutiveGatewayFailure: number;
  readonly enforcingConsecutiveLocalOriginFailure: number;
  readonly enforcingSuccessRate: number;
  readonly enforcingLocalOriginSuccessRate: number;
  readonly enforcingFailurePercentage: number;
  readonly enforcingFailurePercentageLocalOrigin: number;
  readonly splitExternalLocalOriginErrors: boolean;
  readonly successRateMinimumHosts: number;
  readonly successRateRequestVolume: number;
  /** success_rate_stdev_factor / 1000 (default 1.9). */
  readonly successRateStdevFactor: number;
  readonly failurePercentageThreshold: number;
  readonly failurePercentageMinimumHosts: number;
  readonly failurePercentageRequestVolume: number;
  /** successful_active_health_check_uneject_host (default true). */
  readonly successfulActiveHealthCheckUnejectHost: boolean;
}

// === Active health checking ===

/** One `config.core.v3.HealthCheck` (cluster.health_checks; Envoy supports one per cluster). */
export interface HealthCheckModel {
  /** `timeout` (required, > 0): how long one check may take before it counts as a NETWORK_TIMEOUT failure. */
  readonly timeoutMs: number;
  /** `interval` (required, > 0): time between checks while the cluster carries traffic. */
  readonly intervalMs: number;
  /** `initial_jitter` (default 0): the first check waits `random() % initialJitterMs`; 0 = check at once. */
  readonly initialJitterMs: number;
  /** `interval_jitter` (default 0): `random() % intervalJitterMs` added to every interval. */
  readonly intervalJitterMs: number;
  /** `interval_jitter_percent` (default 0): `random() % (percent * interval / 100)` added to every interval. */
  readonly intervalJitterPercent: number;
  /** `unhealthy_threshold` (required): consecutive NETWORK/NETWORK_TIMEOUT failures that make a host unhealthy. */
  readonly unhealthyThreshold: number;
  /** `healthy_threshold` (required): consecutive successes that make an unhealthy host healthy (the first ever check needs one). */
  readonly healthyThreshold: number;
  /** `reuse_connection` (default true): keep the check connection between checks. */
  readonly reuseConnection: boolean;
  /** `no_traffic_interval` (default 60 s): interval until the cluster has made a connection. */
  readonly noTrafficIntervalMs: number;
  /** `no_traffic_healthy_interval` (default = no_traffic_interval): same, for a healthy host. */
  readonly noTrafficHealthyIntervalMs: number;
  /** `unhealthy_interval` (default = interval): interval for an unhealthy host. */
  readonly unhealthyIntervalMs: number;
  /** `unhealthy_edge_interval` (default = unhealthy_interval): after a failure that has not yet made the host unhealthy. */
  readonly unhealthyEdgeIntervalMs: number;
  /** `healthy_edge_interval` (default = interval): after a success that has not yet made the host healthy. */
  readonly healthyEdgeIntervalMs: number;
  /** `always_log_health_check_failures` (default false): log every failure to the event log, not only the first/ejecting ones. */
  readonly alwaysLogFailures: boolean;
  /** `always_log_health_check_success` (default false). */
  readonly alwaysLogSuccess: boolean;
  /** `event_log_path` (deprecated) or `event_logger` file sinks: where Envoy's JSON health events go. */
  readonly eventLogPaths: readonly string[];
  readonly checker: HealthCheckerModel;
}

/** The oneof `health_checker`. */
export type HealthCheckerModel =
  | {
    readonly kind: 'grpc';
    /** `grpc_health_check.service_name`: HealthCheckRequest.service ('' = the whole server). */
    readonly serviceName: string;
    /** `grpc_health_check.authority`; '' = the cluster name (Envoy's default). */
    readonly authority: string;
    /** `grpc_health_check.initial_metadata`. */
    readonly initialMetadata: readonly HeaderValueOptionModel[];
  }
  | {
    readonly kind: 'http';
    readonly path: string;
    /** `host`; '' = the cluster name. */
    readonly host: string;
    /** `method`, default GET. */
    readonly method: string;
    /** `expected_statuses` as half-open [start, end) ranges; default [[200, 300)]. */
    readonly expectedStatuses: readonly (readonly [number, number])[];
    /** `retriable_statuses`: failures that count toward unhealthy_threshold instead of failing at once. */
    readonly retriableStatuses: readonly (readonly [number, number])[];
    readonly requestHeadersToAdd: readonly HeaderValueOptionModel[];
    /** Lower-case names. */
    readonly requestHeadersToRemove: readonly string[];
    readonly codec: 'HTTP1' | 'HTTP2';
    /** `receive` payloads that the response body must contain in order (empty = no body check). */
    readonly receive: readonly Buffer[];
  }
  | {
    readonly kind: 'tcp';
    /** `send` payload (empty = connect only). */
    readonly send: Buffer;
    /** `receive` payloads, in order, that must arrive. */
    readonly receive: readonly Buffer[];
  };

export interface ClusterModel {
  readonly name: string;
  /** `alt_stat_name`, or the name. */
  readonly observabilityName: string;
  readonly type: ClusterType;
  /** EDS: the ClusterLoadAssignment name to subscribe to (eds_cluster_config.service_name, else the cluster name). */
  readonly edsServiceName: string | undefined;
  /** EDS: how long the cluster may warm without its first assignment (0 = forever, Envoy default 15 s). */
  readonly edsInitialFetchTimeoutMs: number;
  /** EDS: `eds_config` is a file (path_config_source / path); absent: through ADS. */
  readonly edsFile?: FileSourceModel;
  /** EDS: `eds_config` is a per-type gRPC `api_config_source` (its own stream); absent: through ADS. */
  readonly edsApi?: AdsConfigModel;
  readonly connectTimeoutMs: number;
  /** Load-balancing policy (lb_policy or the first supported typed load_balancing_policy). */
  readonly lbPolicy: LbPolicy;
  readonly lbConfig: LbConfigModel;
  readonly endpoints: readonly EndpointModel[];
  readonly protocol: UpstreamProtocol;
  readonly http2: Http2OptionsModel;
  /** common_http_protocol_options.idle_timeout; Envoy default 1 h. */
  readonly idleTimeoutMs: number;
  /** dns_refresh_rate, default 5 s. */
  readonly dnsRefreshRateMs: number;
  readonly dnsLookupFamily: 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';
  /** circuit_breakers thresholds for priority DEFAULT. */
  readonly circuitBreakers: CircuitBreakerThresholdsModel;
  /** circuit_breakers thresholds for priority HIGH (routes with `priority: HIGH`). */
  readonly circuitBreakersHigh: CircuitBreakerThresholdsModel;
  /** outlier_detection, when configured. */
  readonly outlierDetection: OutlierDetectionModel | undefined;
  /** per_connection_buffer_limit_bytes, default 1 MiB; also bounds a request kept for replay. */
  readonly perConnectionBufferLimitBytes: number;
  /** transport_socket_matches in order; the first entry whose match fits an endpoint's metadata wins. */
  readonly transportSocketMatches: readonly TransportSocketMatchModel[];
  /** health_checks[0], when active health checking is configured. */
  readonly healthCheck: HealthCheckModel | undefined;
  /** common_lb_config.healthy_panic_threshold in percent (default 50; 0 disables panic routing). */
  readonly healthyPanicThresholdPercent: number;
  /** common_lb_config.ignore_new_hosts_until_first_hc: hosts added after startup are excluded (/pending_active_hc) until checked. */
  readonly ignoreNewHostsUntilFirstHc: boolean;
  /** ignore_health_on_host_removal: remove hosts at once when discovery drops them, even if they pass health checks. */
  readonly ignoreHealthOnHostRemoval: boolean;
  /** `upstream_bind_config.source_address`: the local address of upstream connections (port 0 = any). */
  readonly upstreamBindAddress: { readonly host: string; readonly port: number } | undefined;
  /** ORIGINAL_DST clusters: `original_dst_lb_config` and `cleanup_interval` (Envoy default 5 s). */
  readonly originalDst: OriginalDstConfigModel | undefined;
  /** Stable digest of the config, for diff-and-retain on updates. */
  readonly hash: string;
  /** `metadata.filter_metadata.istio.services[0]` (istiod sets it on service clusters): Istio's destination_service. */
  readonly istioService?: IstioServiceModel | undefined;
}

export interface IstioServiceModel {
  readonly host: string | undefined;
  readonly name: string | undefined;
  readonly namespace: string | undefined;
}

export interface OriginalDstConfigModel {
  /** `use_http_header`: take the destination from `httpHeaderName` when present. */
  readonly useHttpHeader: boolean;
  /** `http_header_name`, lower-case (default `x-envoy-original-dst-host`). */
  readonly httpHeaderName: string;
  /** `upstream_port_override`. */
  readonly portOverride: number | undefined;
  readonly cleanupIntervalMs: number;
}

/** Where an xDS type comes from. */
export type ConfigSourceModel =
  | { readonly kind: 'ads'; readonly initialFetchTimeoutMs: number }
  | { readonly kind: 'path'; readonly path: string; readonly initialFetchTimeoutMs: number; readonly watchedDirectory?: string }
  /** `api_config_source` with api_type GRPC or DELTA_GRPC: a stream of the type's own discovery service. */
  | { readonly kind: 'api'; readonly api: AdsConfigModel; readonly initialFetchTimeoutMs: number };

/** A filesystem xDS source: the file (a DiscoveryResponse) and, optionally, the directory whose moves trigger a re-read. */
export interface FileSourceModel {
  readonly path: string;
  /** `path_config_source.watched_directory.path` (e.g. a Kubernetes ConfigMap mount, updated by symlink swap). */
  readonly watchedDirectory?: string;
}

export interface AdsConfigModel {
  readonly apiType: 'GRPC' | 'DELTA_GRPC';
  readonly target: { readonly kind: 'cluster'; readonly clusterName: string } | { readonly kind: 'google_grpc'; readonly targetUri: string };
  readonly setNodeOnFirstMessageOnly: boolean;
}

export interface DynamicResourcesModel {
  readonly ads: AdsConfigModel | undefined;
  readonly lds: ConfigSourceModel | undefined;
  readonly cds: ConfigSourceModel | undefined;
}

export interface BootstrapModel {
  readonly node: NodeModel;
  readonly admin: AdminModel | undefined;
  readonly dynamic: DynamicResourcesModel | undefined;
  readonly listeners: readonly ListenerModel[];
  readonly clusters: readonly ClusterModel[];
  /** `overload_manager`, when the bootstrap has one. */
  readonly overload?: OverloadManagerModel | undefined;
}
