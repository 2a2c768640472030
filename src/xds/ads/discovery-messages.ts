/**
 * Wire codecs of the four ADS messages (`envoy/service/discovery/v3/discovery.proto`).
 *
 * Requests are built as normalized objects and encoded with `encodeBinary`. Responses are decoded
 * with protobufjs directly, *not* through the normalizing decoder: their resources must stay as
 * raw `Any` bytes so that each one is decoded on its own and a bad one becomes a NACK naming its
 * index instead of failing the whole message.
 */
import type * as protobuf from 'protobufjs';
import { Reader } from 'protobufjs/light';
import type { TimeSlicer } from '../../common/time-slices';
import { lookupMessage } from '../../proto/envoy-protos';
import { encodeBinary } from '../../proto/proto-encode';
import type { ProtoObject } from '../../proto/proto-types';

/** `google.protobuf.Any` as protobufjs decodes it. */
export interface RawAny {
  readonly type_url: string;
  readonly value: Uint8Array;
}

/** `envoy.service.discovery.v3.DiscoveryResponse`, raw. */
export interface RawDiscoveryResponse {
  readonly version_info: string;
  readonly resources: readonly RawAny[];
  readonly type_url: string;
  readonly nonce: string;
  readonly control_plane: { readonly identifier: string } | null;
}

/** `envoy.service.discovery.v3.Resource`, raw. Unset message fields are null. */
export interface RawResource {
  readonly name: string;
  readonly resource_name: { readonly name: string } | null;
  readonly aliases: readonly string[];
  readonly version: string;
  readonly resource: RawAny | null;
}

/** `envoy.service.discovery.v3.DeltaDiscoveryResponse`, raw. */
export interface RawDeltaDiscoveryResponse {
  readonly system_version_info: string;
  readonly resources: readonly RawResource[];
  readonly type_url: string;
  readonly removed_resources: readonly string[];
  readonly removed_resource_names: ReadonlyArray<{ readonly name: string }>;
  readonly nonce: string;
  readonly control_plane: { readonly identifier: string } | null;
}

/** gRPC method paths of `envoy.service.discovery.v3.AggregatedDiscoveryService`. */
export const ADS_METHODS = {
  GRPC: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
  DELTA_GRPC: '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources',
} as const;

/**
 * gRPC method paths of the per-type discovery services (a non-aggregated `api_config_source`:
 * one stream per config source, carrying one type), by resource type URL.
 */
export const PER_TYPE_METHODS: Readonly<Record<string, { readonly GRPC: string; readonly DELTA_GRPC: string }>> = {
  'type.googleapis.com/envoy.config.listener.v3.Listener': {
    GRPC: '/envoy.service.listener.v3.ListenerDiscoveryService/StreamListeners',
    DELTA_GRPC: '/envoy.service.listener.v3.ListenerDiscoveryService/DeltaListeners',
  },
  'type.googleapis.com/envoy.config.cluster.v3.Cluster': {
    GRPC: '/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters',
    DELTA_GRPC: '/envoy.service.cluster.v3.ClusterDiscoveryService/DeltaClusters',
  },
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration': {
    GRPC: '/envoy.service.route.v3.RouteDiscoveryService/StreamRoutes',
    DELTA_GRPC: '/envoy.service.route.v3.RouteDiscoveryService/DeltaRoutes',
  },
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment': {
    GRPC: '/envoy.service.endpoint.v3.EndpointDiscoveryService/StreamEndpoints',
    DELTA_GRPC: '/envoy.service.endpoint.v3.EndpointDiscoveryService/DeltaEndpoints',
  },
};

let types: {
  readonly request: protobuf.Type;
  readonly response: protobuf.Type;
  readonly deltaRequest: protobuf.Type;
  readonly deltaResponse: protobuf.Type;
  readonly resource: protobuf.Type;
  readonly any: protobuf.Type;
} | undefined;

function messageTypes(): NonNullable<typeof types> {
  if (types === undefined) {
    const get = (name: string): protobuf.Type => {
      const type = lookupMessage(name);
      // The discovery protos ship with @grpc/grpc-js-xds; their absence is an installation bug.
      if (type === undefined) throw new Error(`proto message ${name} is not loaded`);
      return type;
    };
    types = {
      request: get('envoy.service.discovery.v3.DiscoveryRequest'),
      response: get('envoy.service.discovery.v3.DiscoveryResponse'),
      deltaRequest: get('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
      deltaResponse: get('envoy.service.discovery.v3.DeltaDiscoveryResponse'),
      resource: get('envoy.service.discovery.v3.Resource'),
      any: get('google.protobuf.Any'),
    };
  }
  return types;
}

/** Serializes a normalized `DiscoveryRequest` (or `DeltaDiscoveryRequest` when `delta`). */
export function encodeRequest(delta: boolean, request: ProtoObject): Buffer {
  const t = messageTypes();
  return Buffer.from(encodeBinary(delta ? t.deltaRequest : t.request, request));
}

/** Parses a `DiscoveryResponse`. Throws on bytes that are not one (the caller resets the stream). */
export function decodeResponse(bytes: Uint8Array): RawDiscoveryResponse {
  const r = messageTypes().response.decode(bytes) as unknown as RawDiscoveryResponse;
  for (const any of r.resources) fixAnyValue(any);
  return r;
}

/** Parses a `DeltaDiscoveryResponse`. Throws on bytes that are not one. */
export function decodeDeltaResponse(bytes: Uint8Array): RawDeltaDiscoveryResponse {
  const r = messageTypes().deltaResponse.decode(bytes) as unknown as RawDeltaDiscoveryResponse;
  for (const res of r.resources) if (res.resource) fixAnyValue(res.resource);
  return r;
}

const NO_BYTES = new Uint8Array(0);

/**
 * protobufjs leaves an absent `bytes` field at its prototype default, an empty *array*, not a
 * Uint8Array: an Any with no value (a resource serialized from an empty message) would then
 * break every consumer that hashes or parses bytes. Give it real, empty bytes.
 */
function fixAnyValue(any: RawAny): void {
  if (!(any.value instanceof Uint8Array)) (any as { value: Uint8Array }).value = NO_BYTES;
}

/** Field number of `resources` in both `DiscoveryResponse` and `DeltaDiscoveryResponse`. */
const RESOURCES_FIELD = 2;
/** Protobuf wire type of length-delimited fields. */
const LENGTH_DELIMITED = 2;

/**
 * Parses a `DiscoveryResponse` (`delta`: `DeltaDiscoveryResponse`) over several event-loop turns:
 * the same result as {@link decodeResponse} / {@link decodeDeltaResponse}, but a response of
 * thousands of resources (hundreds of KiB) is not one long synchronous decode. One cheap pass over
 * the top-level fields sets each `resources` entry aside by its byte range; the other fields are
 * decoded together, as they are; then the entries (`Any`, or delta's `Resource`) are decoded one
 * by one, yielding whenever `slicer` says the slice is spent.
 * Rejects on bytes that are not a response, as the one-shot decoders throw.
 */
export function decodeResponseInSlices(delta: false, bytes: Uint8Array, slicer: TimeSlicer): Promise<RawDiscoveryResponse>;
export function decodeResponseInSlices(delta: true, bytes: Uint8Array, slicer: TimeSlicer): Promise<RawDeltaDiscoveryResponse>;
export function decodeResponseInSlices(delta: boolean, bytes: Uint8Array, slicer: TimeSlicer): Promise<RawDiscoveryResponse | RawDeltaDiscoveryResponse>;
export async function decodeResponseInSlices(delta: boolean, bytes: Uint8Array, slicer: TimeSlicer): Promise<RawDiscoveryResponse | RawDeltaDiscoveryResponse> {
  const t = messageTypes();
  const { rest, entries } = setResourcesAside(bytes);
  const response = (delta ? t.deltaResponse : t.response).decode(rest) as unknown as { resources: unknown[] };
  const entryType = delta ? t.resource : t.any;
  const reader = Reader.create(bytes);
  const resources: unknown[] = [];
  for (const [start, end] of entries) {
    if (slicer.due) await slicer.yield();
    reader.pos = start;
    const entry = entryType.decode(reader, end - start) as unknown as RawAny & RawResource;
    if (delta) {
      if (entry.resource) fixAnyValue(entry.resource);
    } else {
      fixAnyValue(entry);
    }
    resources.push(entry);
  }
  response.resources = resources;
  return response as unknown as RawDiscoveryResponse | RawDeltaDiscoveryResponse;
}

/**
 * Splits a response's top-level fields: the byte ranges of the `resources` entries, and every
 * other field re-serialized as it was (same order, so "last one wins" still holds). Only tags and
 * lengths are read. Throws on malformed or truncated bytes.
 */
function setResourcesAside(bytes: Uint8Array): { rest: Uint8Array; entries: Array<readonly [number, number]> } {
  const reader = Reader.create(bytes);
  const entries: Array<readonly [number, number]> = [];
  const rest: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const fieldStart = reader.pos;
    const tag = reader.uint32();
    if (tag >>> 3 === RESOURCES_FIELD && (tag & 7) === LENGTH_DELIMITED) {
      const length = reader.uint32();
      const start = reader.pos;
      reader.skip(length);
      entries.push([start, start + length]);
    } else {
      reader.skipType(tag & 7);
      rest.push(bytes.subarray(fieldStart, reader.pos));
    }
  }
  return { rest: Buffer.concat(rest), entries };
}

/** Parses the value of a `Resource`-wrapped Any. Throws on garbage. */
export function decodeResourceWrapper(bytes: Uint8Array): RawResource {
  const r = messageTypes().resource.decode(bytes) as unknown as RawResource;
  if (r.resource) fixAnyValue(r.resource);
  return r;
}

/** The Envoy-side parsers, for tests and fakes that speak the server side. */
export function discoveryTypes(): NonNullable<typeof types> {
  return messageTypes();
}
