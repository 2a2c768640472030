/**
 * State-of-the-world protocol state of one resource type on the ADS stream
 * (`envoyproxy/envoy:api/xds_protocol.rst`; Envoy's `GrpcMuxImpl`,
 * `source/extensions/config_subscription/grpc/grpc_mux_impl.cc`).
 *
 * Per type it keeps the accepted `version_info` (survives reconnects), the latest response nonce
 * (per stream), and the interest. Every request is built from those three, so an ACK, a NACK and a
 * subscription change all carry the current accepted version, the latest nonce, and the full name
 * list: "new DiscoveryRequests supersede any prior DiscoveryRequests having the same resource
 * type" (xds_protocol.rst, "When to send an update").
 */
import { logger } from '../../common/logger';
import type { ProtoObject } from '../../proto/proto-types';
import type { RawDiscoveryResponse } from './discovery-messages';
import { ResourceLedger } from './resource-ledger';
import { decodeSotwEntry, digest, shortTypeName, type DecodedResource } from './resource-decoder';
import {
  NACK_STATUS_CODE, callWatcher, interestOf, isInterested, nackMessage, sameInterest,
  type Interest, type ResponseOutcome, type SotwTypeSubscription,
} from './type-subscription';
import { isFullStateType, type ChangedResource, type TypeStatus, type UpdateFailure, type XdsTypeUrl, type XdsWatcher } from './xds-types';

const log = logger('config', __filename);

/** One response's entries after step 1 of {@link SotwSubscription.handleResponse}. */
interface SotwEntries {
  readonly errors: string[];
  readonly decoded: DecodedResource[];
  /** Every name offered, valid or not (a NACK marks them all). */
  readonly offered: Set<string>;
  /** Names of `Resource` wrappers without a body (TTL heartbeats). */
  readonly heartbeats: string[];
  /** Names whose bytes equal the applied copy (not decoded again). */
  readonly unchanged: string[];
}

/** SotW state of one type; see the module comment. */
export class SotwSubscription implements SotwTypeSubscription {
  private interest: Interest = interestOf([]);
  private subscribed = false;
  /** Last accepted `version_info`; kept across streams so a new stream resumes from it. */
  private version = '';
  /** Nonce of the latest response on the current stream ('' on a fresh stream). */
  private nonce = '';
  /** Whether a request for this type went out on the current stream. */
  private sentOnStream = false;
  private readonly fullState: boolean;
  private readonly ledger = new ResourceLedger();
  private lastAckedNonce = '';
  private lastUpdatedMs: number | undefined;
  private lastNack: UpdateFailure | undefined;
  private acks = 0;
  private nacks = 0;
  /** Counts streams, so an answer is never built for a response of a stream since replaced. */
  private streamEpoch = 0;

  /**
   * @param typeUrl the type served.
   * @param now wall clock (epoch ms) for `last_updated`.
   */
  constructor(readonly typeUrl: XdsTypeUrl, private readonly now: () => number) {
    this.fullState = isFullStateType(typeUrl);
  }

  // TypeSubscription

  setInterest(interest: Interest): boolean {
    if (this.subscribed && sameInterest(interest, this.interest)) return false;
    this.subscribed = true;
    this.interest = interest;
    // Names the watcher let go of are forgotten: if asked for again, the server must resend
    // them (xds_protocol.rst, "How the client specifies what resources to return") and the
    // watcher must see them even if their bytes did not change.
    this.ledger.retain(interest);
    return true;
  }

  streamStarted(): void {
    // The version survives (the initial request on a new stream carries "the most recent version
    // seen by the client on the previous stream"); the nonce belongs to the old stream
    // (`GrpcMuxImpl::clearNonce`).
    this.nonce = '';
    this.sentOnStream = false;
    this.streamEpoch++;
  }

  pendingRequest(): ProtoObject | undefined {
    // An empty name list as the first request of a stream would mean "wildcard" (legacy
    // wildcard rules); with no interest there is simply nothing to ask on a fresh stream.
    if (!this.subscribed || (!this.sentOnStream && !this.interest.wildcard && this.interest.names.size === 0)) return undefined;
    return this.request(undefined);
  }

  /** True when bytes with this digest are already applied (unchanged: no need to decode). */
  knowsDigest(hash: string): boolean {
    return this.ledger.nameOfHash(hash) !== undefined;
  }

  async handleResponse(response: RawDiscoveryResponse, watcher: XdsWatcher): Promise<ResponseOutcome> {
    const epoch = this.streamEpoch;
    this.nonce = response.nonce;
    const version = response.version_info;

    if (!this.interest.wildcard && this.interest.names.size === 0) {
      // No interest (e.g. the last EDS name was dropped while the server was answering). Envoy
      // accepts an empty response and re-requests at the old version otherwise, without
      // error_detail (`GrpcMuxImpl::onDiscoveryResponse`, "No watches").
      if (response.resources.length === 0) {
        this.version = version;
        return { request: this.request(undefined), kind: 'ack', version };
      }
      return { request: this.request(undefined), kind: 'none', version: this.version };
    }

    // 1. Decode everything before anything is applied.
    const entries = this.decodeEntries(response);
    if (entries.errors.length > 0) return this.nack(response, entries.errors, entries.offered);

    // 2. Keep what was asked for, leave out unchanged bytes, find removals.
    const { changed, present, removed } = this.diff(entries, version);

    // 3. One call for the whole response; the watcher applies all of it or none. It may take
    //    several event-loop turns; the client handles nothing else meanwhile.
    const rejected = await callWatcher(watcher, this.typeUrl, { changed, removed, version, isFullState: this.fullState });
    if (rejected.length > 0) return this.nack(response, rejected, changed.keys(), epoch);

    this.commit(changed, present, removed);
    this.version = version;
    this.lastAckedNonce = response.nonce;
    this.acks++;
    if (log.debugEnabled) {
      log.debug(`sotw ${shortTypeName(this.typeUrl)}: ACK version ${version} (${changed.size} changed, ${removed.length} removed, ${present.size - changed.size} unchanged)`);
    }
    return { request: this.answer(epoch, undefined), kind: 'ack', version };
  }

  /**
   * Step 1: every entry of the response decoded (or recognised as unchanged by its digest), with
   * every error found. Nothing is changed.
   */
  private decodeEntries(response: RawDiscoveryResponse): SotwEntries {
    const out: SotwEntries = { errors: [], decoded: [], offered: new Set(), heartbeats: [], unchanged: [] };
    const seen = new Set<string>();
    response.resources.forEach((any, index) => {
      // istiod resends every resource on each push: bytes identical to an applied copy are
      // recognised by digest and not decoded again (they were valid when applied).
      if (any.type_url === this.typeUrl) {
        const known = this.ledger.nameOfHash(digest(any.value ?? new Uint8Array(0)));
        if (known !== undefined && !seen.has(known)) {
          seen.add(known);
          out.offered.add(known);
          out.unchanged.push(known);
          return;
        }
      }
      const entry = decodeSotwEntry(this.typeUrl, any, index);
      const name = entry.kind === 'heartbeat' ? entry.name : entry.outcome.name;
      if (name !== undefined) {
        out.offered.add(name);
        if (seen.has(name)) {
          out.errors.push(`resource index ${index}: ${shortTypeName(this.typeUrl)} '${name}': duplicate resource name in one response`);
          return;
        }
        seen.add(name);
      }
      if (entry.kind === 'heartbeat') out.heartbeats.push(entry.name);
      else if (entry.outcome.value === undefined) out.errors.push(...entry.outcome.errors);
      else out.decoded.push(entry.outcome.value);
    });
    return out;
  }

  /**
   * Step 2: what the update means for the watcher. Resources not asked for are silently ignored
   * ("the client will silently ignore any supplied resources that were not explicitly
   * requested"); bytes equal to the applied copy are left out of `changed`.
   */
  private diff(entries: SotwEntries, version: string): { changed: Map<string, ChangedResource>; present: Set<string>; removed: string[] } {
    const changed = new Map<string, ChangedResource>();
    const present = new Set<string>();
    for (const d of entries.decoded) {
      if (!isInterested(this.interest, d.name)) {
        if (log.debugEnabled) log.debug(`sotw ${shortTypeName(this.typeUrl)}: ignoring unrequested resource '${d.name}'`);
        continue;
      }
      present.add(d.name);
      if (this.ledger.get(d.name)?.hash === d.hash) continue;
      changed.set(d.name, { resource: d.resource, version, hash: d.hash });
    }
    for (const name of entries.heartbeats) if (isInterested(this.interest, name)) present.add(name);
    for (const name of entries.unchanged) if (isInterested(this.interest, name)) present.add(name);
    // Listener/Cluster responses are complete: a known name missing is a deletion. Other types
    // have no deletion signal in SotW (xds_protocol.rst, "Deleting Resources").
    const removed = this.fullState ? [...this.ledger.appliedNames()].filter((n) => !present.has(n)) : [];
    return { changed, present, removed };
  }

  /**
   * Records an accepted update in the ledger. The watcher may have narrowed the interest while
   * it was applying; names it let go of are not recorded (if asked for again, they must reach it).
   */
  private commit(changed: ReadonlyMap<string, ChangedResource>, present: ReadonlySet<string>, removed: readonly string[]): void {
    const now = this.now();
    for (const [name, c] of changed) {
      if (isInterested(this.interest, name)) this.ledger.apply(name, { version: c.version, hash: c.hash!, lastUpdatedMs: now });
    }
    for (const name of present) this.ledger.confirm(name);
    // An explicitly requested Listener/Cluster missing from the complete set does not exist.
    for (const name of removed) this.ledger.remove(name, !this.interest.wildcard && this.interest.names.has(name));
    this.lastUpdatedMs = now;
  }

  status(): TypeStatus {
    return {
      typeUrl: this.typeUrl,
      subscription: !this.subscribed ? undefined : this.interest.wildcard ? 'wildcard' : [...this.interest.names],
      versionInfo: this.version,
      lastAckedNonce: this.lastAckedNonce,
      lastUpdatedMs: this.lastUpdatedMs,
      lastNack: this.lastNack,
      acks: this.acks,
      nacks: this.nacks,
      resources: this.ledger.statuses(this.interest),
    };
  }

  // === Requests ===

  /** NACK: previous accepted version, this nonce, error_detail; nothing of the response kept. */
  private nack(response: RawDiscoveryResponse, errors: readonly string[], names: Iterable<string>, epoch = this.streamEpoch): ResponseOutcome {
    const details = nackMessage(errors);
    const failure: UpdateFailure = { versionInfo: response.version_info, nonce: response.nonce, details, lastUpdateAttemptMs: this.now() };
    this.lastNack = failure;
    this.nacks++;
    this.ledger.reject(names, failure);
    log.warn(`gRPC config for ${this.typeUrl} rejected: ${details}`);
    return { request: this.answer(epoch, { code: NACK_STATUS_CODE, message: details }), kind: 'nack', version: this.version };
  }

  /**
   * The ACK/NACK for a response that came on stream `epoch`; none if that stream has been replaced
   * while the watcher was applying (its nonce means nothing on the new one, whose first request
   * already carried the interest).
   */
  private answer(epoch: number, errorDetail: ProtoObject | undefined): ProtoObject | undefined {
    return epoch === this.streamEpoch ? this.request(errorDetail) : undefined;
  }

  /** The one request shape of SotW: accepted version, latest nonce, full name list. */
  private request(errorDetail: ProtoObject | undefined): ProtoObject {
    this.sentOnStream = true;
    const req: Record<string, ProtoObject[string]> = { type_url: this.typeUrl };
    if (this.version !== '') req['version_info'] = this.version;
    // Wildcard is an empty list (Envoy always uses legacy wildcard for LDS/CDS).
    if (!this.interest.wildcard && this.interest.names.size > 0) req['resource_names'] = [...this.interest.names];
    if (this.nonce !== '') req['response_nonce'] = this.nonce;
    if (errorDetail !== undefined) req['error_detail'] = errorDetail;
    return req;
  }
}
