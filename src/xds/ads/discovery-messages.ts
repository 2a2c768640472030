/**
 * Wire codecs of the four ADS messages (`envoy/service/discovery/v3/discovery.proto`).
 *
 * Requests are built as normalized objects and encoded with `encodeBinary`. Responses are decoded
 * with protobufjs directly, *not* through the normalizing decoder: their resources must stay as
 * raw `Any` bytes so that each one is decoded on its own and a bad one becomes a NACK naming its
 * index instead of failing the whole message.
 */
import type * as protobuf from 'protobufjs';
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

let types: { readonly request: protobuf.Type; readonly response: protobuf.Type; readonly deltaRequest: protobuf.Type; readonly deltaResponse: protobuf.Type; readonly resource: protobuf.Type } | undefined;

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
  return messageTypes().response.decode(bytes) as unknown as RawDiscoveryResponse;
}

/** Parses a `DeltaDiscoveryResponse`. Throws on bytes that are not one. */
export function decodeDeltaResponse(bytes: Uint8Array): RawDeltaDiscoveryResponse {
  return messageTypes().deltaResponse.decode(bytes) as unknown as RawDeltaDiscoveryResponse;
}

/** Parses the value of a `Resource`-wrapped Any. Throws on garbage. */
export function decodeResourceWrapper(bytes: Uint8Array): RawResource {
  return messageTypes().resource.decode(bytes) as unknown as RawResource;
}

/** The Envoy-side parsers, for tests and fakes that speak the server side. */
export function discoveryTypes(): { readonly request: protobuf.Type; readonly response: protobuf.Type; readonly deltaRequest: protobuf.Type; readonly deltaResponse: protobuf.Type; readonly resource: protobuf.Type } {
  return messageTypes();
}
