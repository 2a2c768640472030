/**
 * The public vocabulary of the ADS client: type URLs, what a watcher receives, and the
 * per-type status `/config_dump` and CSDS show.
 *
 * The client speaks the transport (`envoyproxy/envoy:api/xds_protocol.rst`); the watcher decides
 * what a resource means. Everything here is plain data.
 */

/** A resource type URL, e.g. {@link LISTENER_TYPE_URL}. */
export type XdsTypeUrl = string;

/** `type.googleapis.com/envoy.config.listener.v3.Listener` (LDS). */
export const LISTENER_TYPE_URL = 'type.googleapis.com/envoy.config.listener.v3.Listener';
/** `type.googleapis.com/envoy.config.route.v3.RouteConfiguration` (RDS). */
export const ROUTE_CONFIGURATION_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
/** `type.googleapis.com/envoy.config.cluster.v3.Cluster` (CDS). */
export const CLUSTER_TYPE_URL = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
/** `type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment` (EDS). */
export const CLUSTER_LOAD_ASSIGNMENT_TYPE_URL = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
/** `type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret` (SDS). */
export const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
/** `type.googleapis.com/envoy.service.discovery.v3.Resource`: the wrapper some SotW servers send. */
export const RESOURCE_WRAPPER_TYPE_URL = 'type.googleapis.com/envoy.service.discovery.v3.Resource';

/**
 * True for the types whose SotW responses carry the complete set (Listener and Cluster), so a
 * previously seen name missing from a response means "deleted". Every other type is grouped like
 * delta: absence means nothing (xds_protocol.rst, "Grouping Resources into Responses" and
 * "Deleting Resources").
 */
export function isFullStateType(typeUrl: XdsTypeUrl): boolean {
  return typeUrl === LISTENER_TYPE_URL || typeUrl === CLUSTER_TYPE_URL;
}

/** One resource of an update. */
export interface ChangedResource {
  /** The normalized resource (`decodeAnyBinary` output: snake_case, `"@type"` key, durations in ms). */
  readonly resource: Record<string, unknown>;
  /** Delta: the resource's own `version`; SotW: the response's `version_info`. */
  readonly version: string;
  /**
   * Digest of the resource's serialized bytes as received (sha1, base64): equal digests mean
   * identical resources, so a watcher can recognise a copy it already holds without hashing the
   * decoded object again. Absent when the resource did not arrive as bytes (e.g. from a file).
   */
  readonly hash?: string;
}

/** What one accepted-or-rejected response means, handed to {@link XdsWatcher.onUpdate}. */
export interface ResourceUpdate {
  /**
   * Resources added or changed, by name. A resource whose bytes equal those of the version last
   * applied is left out (Istio repeats unchanged resources; Envoy skips them by hash too).
   */
  readonly changed: ReadonlyMap<string, ChangedResource>;
  /**
   * Names to forget. Delta: `removed_resources`, plus subscribed names the server says do not
   * exist (a `Resource` without `resource`). SotW Listener/Cluster: previously applied names
   * missing from this complete set. SotW other types: always empty.
   */
  readonly removed: readonly string[];
  /** SotW: the response's `version_info`; delta: its `system_version_info`. */
  readonly version: string;
  /**
   * True only for SotW Listener/Cluster, whose responses hold every resource of the type. For
   * SotW RDS/EDS and for delta the response carries only some names, and absence means nothing.
   */
  readonly isFullState: boolean;
}

/** The consumer of resources: validates, applies, reports. */
export interface XdsWatcher {
  /**
   * Applies one response atomically. Called once per response whose resources all decoded, even
   * when nothing changed (so versions and `update_success` move). Return (or resolve to) `[]` to
   * ACK, or error strings (each naming the resource and field) to NACK, in which case nothing of
   * this update may have been applied. A throw or a rejected promise counts as a NACK with the
   * error's message.
   *
   * The result may be a promise, so a watcher can validate a big update in time slices instead
   * of blocking the event loop. Until it settles the client: sends no ACK/NACK for the response
   * (it is built afterwards, from the outcome); handles no further response of any type
   * (responses are handled one at a time, in arrival order); and holds this type's own
   * subscription changes, which then ride on the ACK/NACK. Other types' subscription changes go
   * out at once. The watcher should therefore settle once the update is validated and committed,
   * not wait for work that needs another response. If the stream is replaced meanwhile, the
   * outcome still updates the client's state but nothing is sent for it (its nonce belongs to the
   * old stream).
   *
   * May call {@link AdsClient.subscribe} (for any type) re-entrantly.
   */
  onUpdate(typeUrl: XdsTypeUrl, update: ResourceUpdate): string[] | Promise<string[]>;
  /**
   * Connection state changes, for the `control_plane.connected_state` gauge and logs. `true`
   * once the channel is ready (or a response arrived) on a new stream; `false` when that stream
   * ends. Never called twice in a row with the same value.
   */
  onConnectionState?(connected: boolean): void;
  /**
   * Optional hook for stats: called after every ACK or NACK the client sends.
   * `rejected` mirrors Envoy's `update_rejected` vs `update_success`.
   */
  onAckSent?(typeUrl: XdsTypeUrl, rejected: boolean, version: string): void;
}

/** Where the management server is. */
export type AdsTarget =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'pipe'; readonly path: string }
  | { readonly kind: 'google_grpc'; readonly targetUri: string };

/** The Envoy `ApiConfigSource.api_type` values Legate speaks over ADS. */
export type AdsApiType = 'GRPC' | 'DELTA_GRPC';

/** HTTP/2 keepalive of the xDS connection (Envoy: the `xds-grpc` cluster's `connection_keepalive`). */
export interface AdsKeepalive {
  /** PING interval in ms (`Http2ProtocolOptions.connection_keepalive.interval`). */
  readonly intervalMs: number;
  /** How long to wait for the PING ack before closing, in ms (`connection_keepalive.timeout`). */
  readonly timeoutMs: number;
}

/** Options of {@link AdsClient}. */
export interface AdsClientOptions {
  /** The management server: `socket_address`, `pipe.path` (Istio: `./etc/istio/proxy/XDS`) or a `google_grpc.target_uri`. */
  readonly target: AdsTarget;
  /** `ads_config.api_type`: `GRPC` (state of the world) or `DELTA_GRPC` (incremental). */
  readonly apiType: AdsApiType;
  /**
   * The normalized `envoy.config.core.v3.Node`. `user_agent_name` (`legate`) and
   * `user_agent_version` (Legate's version) are added when missing.
   */
  readonly node: Record<string, unknown>;
  /**
   * `ads_config.set_node_on_first_message_only`: send `node` only on the first request of each
   * stream (Istio sets it). When false every request carries it.
   */
  readonly setNodeOnFirstMessageOnly: boolean;
  /** Reconnect backoff base in ms; default 500 (Envoy `SubscriptionFactory::RetryInitialDelayMs`). */
  readonly initialBackoffMs?: number;
  /** Reconnect backoff cap in ms; default 30000 (Envoy `SubscriptionFactory::RetryMaxDelayMs`). */
  readonly maxBackoffMs?: number;
  /**
   * A stream whose channel is not ready within this many ms is abandoned and retried after
   * backoff; default 5000 (Envoy's default cluster `connect_timeout`; Istio's `xds-grpc` uses 1s).
   */
  readonly connectTimeoutMs?: number;
  /** HTTP/2 keepalive PINGs; default none. */
  readonly keepalive?: AdsKeepalive;
  /** `:authority` of the stream (`envoy_grpc.authority`); default grpc-js' choice (host, or `localhost` for pipes). */
  readonly authority?: string;
  /** `grpc_service.initial_metadata`: headers added to every stream. */
  readonly initialMetadata?: ReadonlyArray<readonly [string, string]>;
  /**
   * gRPC method of the stream; default the aggregated service's (`ADS_METHODS[apiType]`). A
   * per-type `api_config_source` uses its type's service (`PER_TYPE_METHODS`).
   */
  readonly methodPath?: string;
  /** Largest response accepted, in bytes; default unlimited (xDS responses for big meshes exceed grpc's 4 MiB default). */
  readonly maxReceiveMessageBytes?: number;
  /** Testing hook: uniform random in [0, 1) used for backoff jitter; default `Math.random`. */
  readonly random?: () => number;
  /** Testing hook: wall clock in epoch ms for `last_updated`; default `Date.now`. */
  readonly now?: () => number;
}

// === Status (config_dump / CSDS) ===

/** Envoy's `admin.v3.ClientResourceStatus` values Legate reports. */
export type ResourceClientStatus = 'REQUESTED' | 'DOES_NOT_EXIST' | 'ACKED' | 'NACKED';

/** A rejected response (Envoy's `admin.v3.UpdateFailureState`). */
export interface UpdateFailure {
  /** `version_info` (SotW) or `system_version_info` (delta) of the rejected response. */
  readonly versionInfo: string;
  /** Nonce of the rejected response. */
  readonly nonce: string;
  /** The `error_detail.message` sent with the NACK. */
  readonly details: string;
  /** When it was rejected, epoch ms. */
  readonly lastUpdateAttemptMs: number;
}

/** One resource as the client knows it. */
export interface ResourceStatus {
  /** Resource name. */
  readonly name: string;
  /** REQUESTED (asked, nothing yet), ACKED, NACKED (last offer rejected), DOES_NOT_EXIST (delta says so). */
  readonly clientStatus: ResourceClientStatus;
  /** Version of the copy last applied; `''` if none. */
  readonly version: string;
  /** When the applied copy arrived, epoch ms; undefined if none. */
  readonly lastUpdatedMs: number | undefined;
  /** Set while the latest offer of this resource stands rejected. */
  readonly errorState: UpdateFailure | undefined;
}

/** Per-type transport state, for `/config_dump` and CSDS. */
export interface TypeStatus {
  /** The type URL. */
  readonly typeUrl: XdsTypeUrl;
  /** Current interest: `'wildcard'`, explicit names, or undefined if never subscribed. */
  readonly subscription: 'wildcard' | readonly string[] | undefined;
  /** Last accepted `version_info` (SotW) or `system_version_info` (delta); `''` before any. */
  readonly versionInfo: string;
  /** Nonce of the last ACKed response; `''` before any. */
  readonly lastAckedNonce: string;
  /** When the last response was accepted, epoch ms. */
  readonly lastUpdatedMs: number | undefined;
  /** The most recent NACK of this type, if any (kept after later ACKs, as history). */
  readonly lastNack: UpdateFailure | undefined;
  /** Responses ACKed / NACKed on all streams so far (`update_success` / `update_rejected`). */
  readonly acks: number;
  /** See {@link TypeStatus.acks}. */
  readonly nacks: number;
  /** Known and requested resources, sorted by name. */
  readonly resources: readonly ResourceStatus[];
}
