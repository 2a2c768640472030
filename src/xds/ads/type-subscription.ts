/**
 * What the ADS client needs from a per-type protocol state machine, shared by the SotW and the
 * delta variants, plus the NACK details both use.
 *
 * In ADS every resource type is an independent sub-stream of the one gRPC stream, with its own
 * version, nonce and subscription (xds_protocol.rst, "RPC Services and Methods for Each
 * Variant"). Each type therefore gets one {@link TypeSubscription}; the client only multiplexes.
 */
import type { ProtoObject } from '../../proto/proto-types';
import type { RawDeltaDiscoveryResponse, RawDiscoveryResponse } from './discovery-messages';
import type { TypeStatus, XdsTypeUrl, XdsWatcher } from './xds-types';

/**
 * The `google.rpc.Status.code` of a NACK's `error_detail`. Envoy sets INTERNAL (13) in both
 * variants: `GrpcMuxImpl::onDiscoveryResponse` and `NewDeltaSubscriptionState::handleBadResponse`
 * (`error_detail->set_code(Grpc::Status::WellKnownGrpcStatus::Internal)`). Control planes only
 * test that `error_detail` is present.
 */
export const NACK_STATUS_CODE = 13;

/**
 * Longest `error_detail.message` sent, in characters; longer ones are cut and marked
 * `...(truncated)`, as `Config::Utility::truncateGrpcStatusMessage` does (gRPC trailers have an
 * 8 KiB default limit and some servers echo the message back).
 */
export const MAX_NACK_MESSAGE_CHARS = 4096;

/** Joins error lines into one NACK message, truncated like Envoy's. */
export function nackMessage(errors: readonly string[]): string {
  const joined = errors.join('\n');
  return joined.length > MAX_NACK_MESSAGE_CHARS ? `${joined.slice(0, MAX_NACK_MESSAGE_CHARS)}...(truncated)` : joined;
}

/** Interest in a type: the wildcard, or an explicit set of names (empty = no interest). */
export type Interest = { readonly wildcard: true } | { readonly wildcard: false; readonly names: ReadonlySet<string> };

/** Normalizes the `subscribe()` argument; names are deduplicated and sorted for stable requests. */
export function interestOf(names: 'wildcard' | readonly string[]): Interest {
  if (names === 'wildcard') return { wildcard: true };
  return { wildcard: false, names: new Set([...names].sort()) };
}

/** True when both interests ask for the same thing. */
export function sameInterest(a: Interest, b: Interest): boolean {
  if (a.wildcard || b.wildcard) return a.wildcard === b.wildcard;
  if (a.names.size !== b.names.size) return false;
  for (const n of a.names) if (!b.names.has(n)) return false;
  return true;
}

/** True when `name` is wanted under `interest`. */
export function isInterested(interest: Interest, name: string): boolean {
  return interest.wildcard || interest.names.has(name);
}

/** The outcome of one response: the request that answers it. */
export interface ResponseOutcome {
  /**
   * The ACK/NACK request (without `node`), or undefined when the response is ignored or came on a
   * stream that was replaced while the watcher was applying it.
   */
  readonly request: ProtoObject | undefined;
  /** 'ack', 'nack', or 'none' (an ignored response or a plain re-request). */
  readonly kind: 'ack' | 'nack' | 'none';
  /** The version the request carries (SotW) or the response's system version (delta). */
  readonly version: string;
}

/** One resource type's protocol state. Methods never throw for server input. */
export interface TypeSubscription {
  /** The type URL this state machine serves. */
  readonly typeUrl: XdsTypeUrl;
  /**
   * Replaces the interest.
   * @returns false (and changes nothing) when it equals the current one.
   */
  setInterest(interest: Interest): boolean;
  /** A new stream began: forget per-stream state (nonce, what the server was told). */
  streamStarted(): void;
  /**
   * The request to send now for a subscription change or a fresh stream (without `node` and
   * without `response_nonce` semantics of an ACK), or undefined when there is nothing to say.
   */
  pendingRequest(): ProtoObject | undefined;
  /** Status for `/config_dump` and CSDS. */
  status(): TypeStatus;
}

/** The SotW state machine's response entry point. */
export interface SotwTypeSubscription extends TypeSubscription {
  /**
   * Decodes, hands the update to `watcher`, and resolves to the ACK/NACK once the watcher has
   * settled (see {@link XdsWatcher.onUpdate}). The caller handles one response at a time.
   */
  handleResponse(response: RawDiscoveryResponse, watcher: XdsWatcher): Promise<ResponseOutcome>;
}

/** The delta state machine's response entry point. */
export interface DeltaTypeSubscription extends TypeSubscription {
  /** As {@link SotwTypeSubscription.handleResponse}. */
  handleResponse(response: RawDeltaDiscoveryResponse, watcher: XdsWatcher): Promise<ResponseOutcome>;
}

/**
 * Calls `watcher.onUpdate` and waits for its verdict, so that a throw or a rejected promise
 * becomes a NACK line instead of escaping a stream callback.
 */
export async function callWatcher(watcher: XdsWatcher, typeUrl: XdsTypeUrl, update: Parameters<XdsWatcher['onUpdate']>[1]): Promise<string[]> {
  try {
    const errors = await watcher.onUpdate(typeUrl, update);
    return Array.isArray(errors) ? errors.map(String) : [];
  } catch (err) {
    return [`update rejected: ${err instanceof Error ? err.message : String(err)}`];
  }
}
