/**
 * The wire side of the fake control plane: the grpc-js service definition of
 * `envoy.service.discovery.v3.AggregatedDiscoveryService`, built by hand from
 * Envoy's protos (loaded by `src/proto/envoy-protos.ts`), and the encoding of
 * proto3-JSON resources into the `google.protobuf.Any` an xDS response carries.
 *
 * Requests travel in the NORMALIZED form of `src/proto/proto-json.ts` both ways
 * (snake_case, only present fields, `node.metadata` as a plain object), so the
 * server sees exactly which fields a client set. Responses travel in protobufjs'
 * object form (snake_case, resources as raw `{ type_url, value }`), so a test
 * client gets the bytes the server sent, malformed ones included.
 */
import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { lookupByTypeUrl, lookupMessage } from '../../../src/proto/envoy-protos';
import { decodeBinary } from '../../../src/proto/proto-binary';
import { encodeBinary, encodeBinaryAny } from '../../../src/proto/proto-encode';
import { decodeJson } from '../../../src/proto/proto-json';
import { type BinaryAny, type ProtoObject, type ProtoValue, formatIssue, isPlainObject } from '../../../src/proto/proto-types';

// === Type URLs ===

/** LDS: `envoy.config.listener.v3.Listener`. */
export const LDS_TYPE_URL = 'type.googleapis.com/envoy.config.listener.v3.Listener';
/** RDS: `envoy.config.route.v3.RouteConfiguration`. */
export const RDS_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
/** CDS: `envoy.config.cluster.v3.Cluster`. */
export const CDS_TYPE_URL = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
/** EDS: `envoy.config.endpoint.v3.ClusterLoadAssignment`. */
export const EDS_TYPE_URL = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
/** SDS: `envoy.extensions.transport_sockets.tls.v3.Secret`. */
export const SDS_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
/** ECDS: `envoy.config.core.v3.TypedExtensionConfig`. */
export const ECDS_TYPE_URL = 'type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig';

/**
 * istiod's push order (`PushOrder` in istio/istio:pilot/pkg/xds/ads.go), which is
 * Envoy's make-before-break order: clusters, endpoints, listeners, routes, secrets.
 * Types not listed come after, in the order given.
 */
export const PUSH_ORDER: readonly string[] = [CDS_TYPE_URL, EDS_TYPE_URL, LDS_TYPE_URL, RDS_TYPE_URL, SDS_TYPE_URL];

// === Messages ===

/** A proto3-JSON object as written in YAML/JSON fixtures (snake_case or camelCase, `@type` on Anys). */
export type ProtoJsonObject = { readonly [field: string]: unknown };

/** `google.rpc.Status` as a client sends it in `error_detail` (normalized: absent fields left out). */
export interface ErrorDetailMessage {
  /** gRPC status code; Envoy NACKs with 13 (INTERNAL) or 3 (INVALID_ARGUMENT). */
  readonly code?: number;
  /** Why the client rejected the response. */
  readonly message?: string;
}

/** `DiscoveryRequest` in normalized form; every field optional, as on the wire. */
export interface DiscoveryRequestMessage {
  /** Version the client last accepted for `type_url` ('' or absent before the first ACK). */
  readonly version_info?: string;
  /** `envoy.config.core.v3.Node`, normalized; usually only on the first request of a stream. */
  readonly node?: ProtoObject;
  /** Names subscribed to (the full list every time; empty = wildcard for LDS/CDS). */
  readonly resource_names?: readonly string[];
  /** Resource type of this sub-stream. */
  readonly type_url?: string;
  /** Nonce of the response being ACKed/NACKed; absent on a first request. */
  readonly response_nonce?: string;
  /** Present only on a NACK. */
  readonly error_detail?: ErrorDetailMessage;
}

/** `DeltaDiscoveryRequest` in normalized form. */
export interface DeltaDiscoveryRequestMessage {
  /** `envoy.config.core.v3.Node`, normalized. */
  readonly node?: ProtoObject;
  /** Resource type of this sub-stream. */
  readonly type_url?: string;
  /** Names added to the subscription (`*` = wildcard). */
  readonly resource_names_subscribe?: readonly string[];
  /** Names removed from the subscription. */
  readonly resource_names_unsubscribe?: readonly string[];
  /** On a stream's first request for a type: the resources the client already has, name → version. */
  readonly initial_resource_versions?: { readonly [name: string]: string };
  /** Nonce of the response being ACKed/NACKed; absent on spontaneous requests. */
  readonly response_nonce?: string;
  /** Present only on a NACK. */
  readonly error_detail?: ErrorDetailMessage;
}

/** A `google.protobuf.Any` as raw bytes. */
export interface WireAny {
  /** Type URL of the packed message. */
  readonly type_url: string;
  /** The serialized message (possibly malformed on purpose). */
  readonly value: Uint8Array;
}

/** `DiscoveryResponse` in protobufjs object form. */
export interface DiscoveryResponseMessage {
  /** Version of the type's resource set. */
  readonly version_info: string;
  /** The resources, each an Any of `type_url`. */
  readonly resources: readonly WireAny[];
  /** Resource type of this sub-stream. */
  readonly type_url: string;
  /** Unique per response; the client echoes it in its ACK/NACK. */
  readonly nonce: string;
  /** Identifies the control plane (`envoy.config.core.v3.ControlPlane`). */
  readonly control_plane?: { readonly identifier: string } | null;
}

/** `envoy.service.discovery.v3.Resource` in protobufjs object form. */
export interface DeltaResourceMessage {
  /** Resource name. */
  readonly name: string;
  /** Per-resource version, echoed back in `initial_resource_versions` on reconnect. */
  readonly version: string;
  /** The resource; null/absent on a TTL heartbeat. */
  readonly resource?: WireAny | null;
}

/** `DeltaDiscoveryResponse` in protobufjs object form. */
export interface DeltaDiscoveryResponseMessage {
  /** Version of the type's resource set (informational in delta). */
  readonly system_version_info: string;
  /** Added or changed resources. */
  readonly resources: readonly DeltaResourceMessage[];
  /** Resource type of this sub-stream. */
  readonly type_url: string;
  /** Names deleted (or, for explicit subscriptions, names that do not exist). */
  readonly removed_resources: readonly string[];
  /** Unique per response; the client echoes it in its ACK/NACK. */
  readonly nonce: string;
  /** Identifies the control plane. */
  readonly control_plane?: { readonly identifier: string } | null;
}

// === Service definition ===

/** Fully qualified name of the ADS service. */
export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
/** gRPC path of the SotW method. */
export const SOTW_PATH = `/${ADS_SERVICE}/StreamAggregatedResources`;
/** gRPC path of the delta (incremental) method. */
export const DELTA_PATH = `/${ADS_SERVICE}/DeltaAggregatedResources`;

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, arrays: true };

let definition: grpc.ServiceDefinition | undefined;

/**
 * The grpc-js definition of the ADS service, usable for a server (`addService`)
 * and a client (`makeGenericClientConstructor`). Keys are the proto method names
 * `StreamAggregatedResources` and `DeltaAggregatedResources` (both bidi streams);
 * see the module comment for the message forms.
 */
export function adsServiceDefinition(): grpc.ServiceDefinition {
  definition ??= discoveryServiceDefinition(ADS_SERVICE, 'StreamAggregatedResources', 'DeltaAggregatedResources');
  return definition;
}

/**
 * The per-type discovery services (`ListenerDiscoveryService/StreamListeners`, ...), which a
 * non-aggregated `api_config_source` streams from: same messages and protocol as ADS, one type
 * per stream. Each entry names the SotW and delta method keys of its definition.
 */
export const PER_TYPE_SERVICES: ReadonlyArray<{ readonly service: string; readonly sotw: string; readonly delta: string }> = [
  { service: 'envoy.service.listener.v3.ListenerDiscoveryService', sotw: 'StreamListeners', delta: 'DeltaListeners' },
  { service: 'envoy.service.cluster.v3.ClusterDiscoveryService', sotw: 'StreamClusters', delta: 'DeltaClusters' },
  { service: 'envoy.service.route.v3.RouteDiscoveryService', sotw: 'StreamRoutes', delta: 'DeltaRoutes' },
  { service: 'envoy.service.endpoint.v3.EndpointDiscoveryService', sotw: 'StreamEndpoints', delta: 'DeltaEndpoints' },
];

/** A grpc-js definition of a discovery service with a SotW and a delta bidi method. */
export function discoveryServiceDefinition(service: string, sotwName: string, deltaName: string): grpc.ServiceDefinition {
  const method = (name: string, request: string, response: string): grpc.MethodDefinition<unknown, unknown> => {
    const req = message(`envoy.service.discovery.v3.${request}`);
    const res = message(`envoy.service.discovery.v3.${response}`);
    return {
      path: `/${service}/${name}`,
      requestStream: true,
      responseStream: true,
      requestSerialize: (value: unknown) => Buffer.from(encodeBinary(req, value as ProtoObject)),
      // decodeBinary never throws: garbage gives a partial object, which the server records as is.
      requestDeserialize: (bytes: Buffer) => decodeBinary(req, bytes).value,
      responseSerialize: (value: unknown) => Buffer.from(res.encode(res.fromObject(value as Record<string, unknown>)).finish()),
      responseDeserialize: (bytes: Buffer) => res.toObject(res.decode(bytes), TO_OBJECT),
      originalName: name.charAt(0).toLowerCase() + name.slice(1),
    };
  };
  return {
    [sotwName]: method(sotwName, 'DiscoveryRequest', 'DiscoveryResponse'),
    [deltaName]: method(deltaName, 'DeltaDiscoveryRequest', 'DeltaDiscoveryResponse'),
  } as grpc.ServiceDefinition;
}

function message(fullName: string): protobuf.Type {
  const type = lookupMessage(fullName);
  if (type === undefined) throw new Error(`Envoy protos lack ${fullName}`);
  return type;
}

// === Resources ===

/** Options of {@link encodeResource}. */
export interface EncodeResourceOptions {
  /**
   * Encode even when decoding reports problems (PGV violations such as a zero
   * weight, or fields that failed to parse, which are then left out). Use it to
   * make resources a client must NACK. Default false: any problem throws.
   */
  readonly allowInvalid?: boolean;
}

/**
 * proto3 JSON → binary Any of `typeUrl`. A top-level `@type` is allowed and must
 * name the same message. Nested Anys of types the Envoy protos lack (Istio's
 * `envoy.tcp.metadataexchange.config.MetadataExchange`; `stats.PluginConfig` is in protos/)
 * cannot be serialized from JSON; they are sent with the right type URL and an
 * empty payload (the message's defaults), which is all a client that does not
 * know the type can look at anyway. Throws for unknown `typeUrl` (use raw bytes
 * for those) and, unless `allowInvalid`, when the JSON does not decode cleanly.
 */
export function encodeResource(typeUrl: string, json: ProtoJsonObject, opts: EncodeResourceOptions = {}): BinaryAny {
  const type = lookupByTypeUrl(typeUrl);
  if (type === undefined) throw new Error(`cannot encode ${typeUrl}: type not in the Envoy protos (use raw bytes)`);
  const { '@type': declared, ...fields } = json;
  if (declared !== undefined && (typeof declared !== 'string' || messageName(declared) !== messageName(typeUrl))) {
    throw new Error(`resource of ${typeUrl} declares "@type": ${JSON.stringify(declared)}`);
  }
  const { value, errors } = decodeJson(type, fields);
  if (errors.length > 0 && opts.allowInvalid !== true) {
    throw new Error(`invalid ${messageName(typeUrl)}:\n  ${errors.map(formatIssue).join('\n  ')}`);
  }
  return encodeBinaryAny(typeUrl, blankUnresolvedAnys(value) as ProtoObject);
}

/**
 * The name an xDS resource is known by: `cluster_name` for a
 * ClusterLoadAssignment, `name` for everything else (either spelling).
 */
export function resourceNameOf(typeUrl: string, json: ProtoJsonObject): string | undefined {
  const keys = typeUrl === EDS_TYPE_URL ? ['cluster_name', 'clusterName'] : ['name'];
  for (const key of keys) {
    const v = json[key];
    if (typeof v === 'string') return v;
  }
  return undefined;
}

/** `json` with its name field set to `name` when it has none (so tests may omit it). */
export function withResourceName(typeUrl: string, name: string, json: ProtoJsonObject): ProtoJsonObject {
  if (resourceNameOf(typeUrl, json) !== undefined) return json;
  if (typeUrl === EDS_TYPE_URL) return { ...json, cluster_name: name };
  return lookupByTypeUrl(typeUrl)?.fields['name'] !== undefined ? { ...json, name } : json;
}

function messageName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

/** Replace every unresolved Any decoded from JSON (no bytes) by one with an empty payload. */
function blankUnresolvedAnys(v: ProtoValue): ProtoValue {
  if (Array.isArray(v)) return v.map(blankUnresolvedAnys);
  if (!isPlainObject(v)) return v;
  const obj = v as ProtoObject;
  if (obj['@unresolved'] === true && !Buffer.isBuffer(obj['@bytes'])) {
    return { '@type': obj['@type']!, '@unresolved': true, '@bytes': Buffer.alloc(0) };
  }
  const out: Record<string, ProtoValue> = {};
  for (const [k, x] of Object.entries(obj)) out[k] = blankUnresolvedAnys(x);
  return out;
}
