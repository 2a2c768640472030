/**
 * Decodes binary protobuf (xDS `DiscoveryResponse.resources`, each a
 * google.protobuf.Any) into the same normalized form and issue list as
 * `decodeJson`, so resource decoders never care where a config came from.
 *
 * protobufjs does the wire decoding; its `toObject` output (snake_case keys,
 * 64-bit integers as strings, enums as numbers) then goes through the same
 * walker as JSON, in its "binary" mode, which also validates PGV rules and
 * unpacks nested Anys by type URL. Truncated or garbage bytes become an
 * issue, never an exception.
 */
import type * as protobuf from 'protobufjs';
import { lookupMessage } from './envoy-protos';
import { decodeInput } from './proto-json';
import type { BinaryAny, DecodeOptions, DecodeResult } from './proto-types';
import { Invalid } from './scalar-values';
import { bytesToObjectForm } from './well-known-json';

/**
 * Decodes `bytes` as a serialized `type`. Issues are prefixed with `path`
 * (default ''). Unknown fields on the wire are skipped silently, as
 * protobuf does for binary input.
 */
export function decodeBinary(type: protobuf.Type, bytes: Uint8Array, path = ''): DecodeResult {
  const object = bytesToObjectForm(type, bytes);
  if (object instanceof Invalid) return { value: {}, errors: [{ path, message: object.message }], warnings: [] };
  return decodeInput(type, object, { path }, true);
}

/**
 * Decodes a binary Any into the normalized Any form:
 * `{ "@type": type_url, ...fields }` (a packed well-known type gives
 * `{ "@type", value }`). An unknown type URL is not an error: the result is
 * `{ "@type", "@unresolved": true, "@bytes": Buffer }`, and the caller (which
 * knows the resource type it subscribed to) decides. A missing type URL is an
 * error.
 */
export function decodeAnyBinary(any: BinaryAny, path = ''): DecodeResult {
  const anyType = lookupMessage('google.protobuf.Any')!;
  const opts: DecodeOptions = { path };
  if (!(any.value instanceof Uint8Array) && any.value !== undefined) {
    return { value: {}, errors: [{ path, message: 'google.protobuf.Any value must be bytes' }], warnings: [] };
  }
  return decodeInput(anyType, { type_url: any.type_url, value: any.value }, opts, true);
}
