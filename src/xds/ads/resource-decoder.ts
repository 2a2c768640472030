/**
 * Turns the raw `Any`s of one response into normalized resources or error lines.
 *
 * Every check that makes Envoy throw while ingesting a response lives here: an `Any` whose type
 * URL differs from the response's (`GrpcMuxImpl::onDiscoveryResponse`, "does not match the
 * message-wide type URL"), bytes that do not parse, PGV violations, a duplicate name
 * (`NewDeltaSubscriptionState::handleGoodResponse`, "duplicate name ... found"). Errors name the
 * resource index and, when known, the resource, in the shape of grpc-js-xds' `AdsResponseParser`
 * (`resource index 2: Cluster 'x': connect_timeout: value must be greater than 0s`).
 */
import { hash } from 'node:crypto';
import { TimeSlicer } from '../../common/time-slices';
import { decodeAnyBinary } from '../../proto/proto-binary';
import { encodeBinaryAny } from '../../proto/proto-encode';
import { formatIssue, type ProtoObject } from '../../proto/proto-types';
import { decodeResourceWrapper, type RawAny } from './discovery-messages';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL, LISTENER_TYPE_URL, RESOURCE_WRAPPER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL, type XdsTypeUrl,
} from './xds-types';

/** A resource that decoded cleanly. */
export interface DecodedResource {
  /** Its name: the `Resource` wrapper's when there is one, else the message's own. */
  readonly name: string;
  /** Normalized message, with `"@type"`. */
  readonly resource: Record<string, unknown>;
  /** Digest of the serialized bytes; equal digests mean "unchanged". */
  readonly hash: string;
}

/** Outcome of decoding one resource: `errors` empty means `value` is set. */
export interface DecodeOutcome {
  readonly value: DecodedResource | undefined;
  /** The name, when it could be learned even though decoding failed (for NACKED status). */
  readonly name: string | undefined;
  readonly errors: readonly string[];
}

/** What a SotW entry turned out to be. */
export type SotwEntry =
  | { readonly kind: 'resource'; readonly outcome: DecodeOutcome }
  /** A `Resource` wrapper without a body: a TTL heartbeat, which changes nothing. */
  | { readonly kind: 'heartbeat'; readonly name: string };

/** `Cluster` from `type.googleapis.com/envoy.config.cluster.v3.Cluster`. */
export function shortTypeName(typeUrl: XdsTypeUrl): string {
  const full = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  return full.slice(full.lastIndexOf('.') + 1);
}

/**
 * The name a resource is known by: `cluster_name` for a ClusterLoadAssignment, `name` for
 * everything else (Envoy's per-type `resourceName()` decoders).
 */
export function resourceNameOf(typeUrl: XdsTypeUrl, value: Record<string, unknown>): string | undefined {
  const name = typeUrl === CLUSTER_LOAD_ASSIGNMENT_TYPE_URL ? value['cluster_name'] : value['name'];
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function label(typeUrl: XdsTypeUrl, index: number, name: string | undefined): string {
  return `resource index ${index}: ${shortTypeName(typeUrl)}${name === undefined ? '' : ` '${name}'`}`;
}

function failure(typeUrl: XdsTypeUrl, index: number, name: string | undefined, messages: readonly string[]): DecodeOutcome {
  const prefix = label(typeUrl, index, name);
  return { value: undefined, name, errors: messages.map((m) => `${prefix}: ${m}`) };
}

/**
 * Decodes one `Any` that must hold a `typeUrl` message.
 * @param nameHint the name given by a `Resource` wrapper, which wins over the message's own.
 */
export function decodeResourceAny(typeUrl: XdsTypeUrl, any: RawAny, index: number, nameHint?: string): DecodeOutcome {
  const hint = nameHint === '' ? undefined : nameHint;
  if (any.type_url !== typeUrl) {
    return failure(typeUrl, index, hint, [`type URL ${any.type_url || '(empty)'} does not match the response type URL ${typeUrl}`]);
  }
  const bytes = any.value ?? new Uint8Array(0);
  let decoded = predecoded.get(bytes);
  if (decoded === undefined) {
    try {
      decoded = decodeAnyBinary({ type_url: any.type_url, value: bytes });
    } catch (err) {
      // The decoder promises issues rather than throws; this guards the stream callback anyway.
      return failure(typeUrl, index, hint, [`cannot decode: ${(err as Error).message}`]);
    }
  }
  const value = decoded.value as Record<string, unknown>;
  if (value['@unresolved'] === true) {
    return failure(typeUrl, index, hint, [`resource type ${typeUrl} is not known to this build`]);
  }
  const ownName = resourceNameOf(typeUrl, value);
  const name = hint ?? ownName;
  if (decoded.errors.length > 0) return failure(typeUrl, index, name, decoded.errors.map(formatIssue));
  if (name === undefined) return failure(typeUrl, index, undefined, ['resource has no name']);
  return { value: { name, resource: value, hash: digest(bytes) }, name, errors: [] };
}

/**
 * Decodes one entry of a SotW `DiscoveryResponse.resources`, unwrapping an
 * `envoy.service.discovery.v3.Resource` (which some servers send, and Envoy accepts).
 */
export function decodeSotwEntry(typeUrl: XdsTypeUrl, any: RawAny, index: number): SotwEntry {
  if (any.type_url !== RESOURCE_WRAPPER_TYPE_URL) return { kind: 'resource', outcome: decodeResourceAny(typeUrl, any, index) };
  let wrapper;
  try {
    wrapper = decodeResourceWrapper(any.value ?? new Uint8Array(0));
  } catch (err) {
    return { kind: 'resource', outcome: failure(typeUrl, index, undefined, [`invalid envoy.service.discovery.v3.Resource bytes: ${(err as Error).message}`]) };
  }
  const name = wrapper.name !== '' ? wrapper.name : (wrapper.resource_name?.name ?? '');
  if (wrapper.resource === null || wrapper.resource === undefined) {
    if (name === '') return { kind: 'resource', outcome: failure(typeUrl, index, undefined, ['Resource wrapper has neither a name nor a resource']) };
    return { kind: 'heartbeat', name };
  }
  return { kind: 'resource', outcome: decodeResourceAny(typeUrl, wrapper.resource, index, name) };
}

/**
 * sha1 of the bytes: a change detector, not a security boundary. One-shot `crypto.hash` costs
 * half of `createHash` for resources of a few hundred bytes, and a SotW push hashes every one.
 */
export function digest(bytes: Uint8Array): string {
  let d = digests.get(bytes);
  if (d === undefined) {
    d = hash('sha1', bytes, 'base64');
    digests.set(bytes, d);
  }
  return d;
}

// === Decoding ahead, in slices ===

type Decoded = ReturnType<typeof decodeAnyBinary>;
/** Results of decoding done ahead of the state machines, keyed by the bytes they came from. */
const predecoded = new WeakMap<Uint8Array, Decoded>();
const digests = new WeakMap<Uint8Array, string>();

/**
 * Decodes the resources of a large response ahead of the state machine, yielding to the event
 * loop between slices (through the shared {@link TimeSlicer} queue, so it takes turns with other
 * sliced work such as applying the previous response), so a push of thousands of resources never
 * blocks request handling for long. Bytes whose digest `isKnown` (unchanged since applied) are
 * not decoded. The state machine then finds the results by their bytes.
 */
export async function predecode(
  anys: readonly RawAny[],
  isKnown: (hash: string) => boolean,
  stillWanted: () => boolean,
  slicer: TimeSlicer = new TimeSlicer(),
): Promise<void> {
  for (const any of anys) {
    if (slicer.due) {
      await slicer.yield();
      if (!stillWanted()) return;
    }
    const bytes = any.value;
    if (!bytes || bytes.length === 0 || any.type_url === RESOURCE_WRAPPER_TYPE_URL || predecoded.has(bytes)) continue;
    if (isKnown(digest(bytes))) continue;
    try {
      predecoded.set(bytes, decodeAnyBinary({ type_url: any.type_url, value: bytes }));
    } catch {
      // Left for the state machine, which reports it against the resource.
    }
  }
}

// === Warming up ===

const HCM_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/**
 * One small, typical resource of each type the client serves (normalized form). Decoding them
 * once makes protobufjs generate its decoders and the normalizer build its per-type tables, work
 * that otherwise lands on the first real resource of each type: 10–25 ms for the first Cluster,
 * in the middle of the first push.
 */
const WARM_UP_SAMPLES: ReadonlyArray<readonly [XdsTypeUrl, Record<string, unknown>]> = [
  [CLUSTER_TYPE_URL, {
    name: 'warm-up', type: 'EDS', connect_timeout: 1000, lb_policy: 'ROUND_ROBIN',
    eds_cluster_config: { service_name: 'warm-up', eds_config: { ads: {}, resource_api_version: 'V3' } },
  }],
  [CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, {
    cluster_name: 'warm-up',
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 8080 } } } }] }],
  }],
  [LISTENER_TYPE_URL, {
    name: 'warm-up',
    address: { socket_address: { address: '127.0.0.1', port_value: 8080 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': HCM_TYPE_URL, stat_prefix: 'warm-up',
      rds: { route_config_name: 'warm-up', config_source: { ads: {}, resource_api_version: 'V3' } },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
    } }] }],
  }],
  [ROUTE_CONFIGURATION_TYPE_URL, {
    name: 'warm-up',
    virtual_hosts: [{ name: 'warm-up', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'warm-up' } }] }],
  }],
];

let warmedUp = false;

/**
 * Decodes {@link WARM_UP_SAMPLES} once per process (a few ms), so that the per-type setup cost is
 * paid at startup, next to loading the protos, rather than by the first push. Best effort: a
 * sample that does not encode is skipped.
 */
export function warmUpDecoders(): void {
  if (warmedUp) return;
  warmedUp = true;
  for (const [typeUrl, sample] of WARM_UP_SAMPLES) {
    try {
      decodeAnyBinary(encodeBinaryAny(typeUrl, sample as ProtoObject));
    } catch {
      // Only the first real resource of this type pays the setup.
    }
  }
}
