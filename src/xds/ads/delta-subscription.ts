/**
 * Incremental (delta) protocol state of one resource type on the ADS stream
 * (`envoyproxy/envoy:api/xds_protocol.rst`, "Incremental xDS"; Envoy's
 * `NewDeltaSubscriptionState`,
 * `source/extensions/config_subscription/grpc/new_delta_subscription_state.cc`).
 *
 * The server is told only differences: what to subscribe to and unsubscribe from, computed
 * against what this stream has already been told. A fresh stream restates the whole interest and
 * lists every resource version held in `initial_resource_versions`, so the server can skip
 * resending what did not change. ACKs and NACKs carry only the response nonce (plus
 * `error_detail` for a NACK); subscription changes are separate requests without a nonce, unless
 * one is due anyway, in which case they ride on the ACK (as `getNextRequestWithAck` does).
 */
import { logger } from '../../common/logger';
import type { ProtoObject } from '../../proto/proto-types';
import type { RawDeltaDiscoveryResponse } from './discovery-messages';
import { ResourceLedger } from './resource-ledger';
import { decodeResourceAny, shortTypeName } from './resource-decoder';
import {
  NACK_STATUS_CODE, callWatcher, interestOf, isInterested, nackMessage, sameInterest,
  type DeltaTypeSubscription, type Interest, type ResponseOutcome,
} from './type-subscription';
import type { ChangedResource, TypeStatus, UpdateFailure, XdsTypeUrl, XdsWatcher } from './xds-types';

const log = logger('config', __filename);

/** One response's content after step 1 of {@link DeltaSubscription.handleResponse}. */
interface DeltaEntries {
  readonly errors: string[];
  /** Every name offered, valid or not (a NACK marks them all). */
  readonly offered: Set<string>;
  readonly decoded: Array<{ readonly name: string; readonly resource: Record<string, unknown>; readonly hash: string; readonly version: string }>;
  /** Subscribed names the server says do not exist (a `Resource` without a body). */
  readonly absent: string[];
  /** `removed_resources` and `removed_resource_names`. */
  readonly removedNames: Set<string>;
}

/** The wildcard resource name of delta requests. */
const WILDCARD = '*';

/** Delta state of one type; see the module comment. */
export class DeltaSubscription implements DeltaTypeSubscription {
  private interest: Interest = interestOf([]);
  private subscribed = false;
  /** Names (with `*` for wildcard) the server was told on this stream. */
  private told = new Set<string>();
  /** Names dropped and re-added before the server heard of the drop: subscribe them again. */
  private readonly resubscribe = new Set<string>();
  private sentOnStream = false;
  private readonly ledger = new ResourceLedger();
  private systemVersion = '';
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
  constructor(readonly typeUrl: XdsTypeUrl, private readonly now: () => number) {}

  // TypeSubscription

  setInterest(interest: Interest): boolean {
    if (this.subscribed && sameInterest(interest, this.interest)) return false;
    this.subscribed = true;
    const before = this.interest;
    this.interest = interest;
    // A name dropped is forgotten (the watcher let go of it). If it comes back before the
    // server heard about the drop, the diff would be empty, yet the watcher needs the resource
    // again: Envoy treats remove-then-add as a new add for the same reason.
    for (const name of this.ledger.retain(interest)) if (this.told.has(name)) this.resubscribe.add(name);
    if (log.debugEnabled && before.wildcard !== interest.wildcard) log.debug(`delta ${shortTypeName(this.typeUrl)}: wildcard=${interest.wildcard}`);
    return true;
  }

  streamStarted(): void {
    this.told = new Set();
    this.resubscribe.clear();
    this.sentOnStream = false;
    this.streamEpoch++;
  }

  pendingRequest(): ProtoObject | undefined {
    if (!this.subscribed) return undefined;
    return this.request(undefined);
  }

  async handleResponse(response: RawDeltaDiscoveryResponse, watcher: XdsWatcher): Promise<ResponseOutcome> {
    const epoch = this.streamEpoch;
    // 1. Decode everything before anything is applied.
    const entries = this.decodeEntries(response);
    if (entries.errors.length > 0) return this.nack(response, entries.errors, entries.offered);

    // 2. Keep what was asked for, leave out unchanged bytes.
    const { changed, reconfirmed, removed } = this.diff(entries);

    // 3. One call for the whole response; the watcher applies all of it or none. It may take
    //    several event-loop turns; the client handles nothing else meanwhile.
    const version = response.system_version_info;
    const rejected = await callWatcher(watcher, this.typeUrl, { changed, removed, version, isFullState: false });
    if (rejected.length > 0) return this.nack(response, rejected, changed.keys(), epoch);

    this.commit(changed, reconfirmed, removed);
    this.systemVersion = version;
    this.lastAckedNonce = response.nonce;
    this.acks++;
    if (log.debugEnabled) log.debug(`delta ${shortTypeName(this.typeUrl)}: ACK nonce ${response.nonce} (${changed.size} changed, ${removed.length} removed)`);
    return { request: this.answer(epoch, { nonce: response.nonce }), kind: 'ack', version };
  }

  /** Step 1: every resource and removal of the response decoded, with every error found. Nothing is changed. */
  private decodeEntries(response: RawDeltaDiscoveryResponse): DeltaEntries {
    const type = shortTypeName(this.typeUrl);
    const out: DeltaEntries = { errors: [], offered: new Set(), decoded: [], absent: [], removedNames: new Set() };
    response.resources.forEach((r, index) => {
      const name = r.name !== '' ? r.name : (r.resource_name?.name ?? '');
      if (name === '') {
        out.errors.push(`resource index ${index}: ${type}: Resource has no name`);
        return;
      }
      if (out.offered.has(name)) {
        out.errors.push(`resource index ${index}: ${type} '${name}': duplicate name found among added/updated resources`);
        return;
      }
      out.offered.add(name);
      if (r.resource === null || r.resource === undefined) {
        // An unresolved alias (VHDS) carries no body and means nothing here.
        if (r.aliases.length > 0) return;
        // Same version as held: a TTL heartbeat (`isHeartbeatResponse`).
        if (this.ledger.get(name)?.version === r.version && r.version !== '') return;
        // Otherwise the server says the subscribed name does not exist.
        out.absent.push(name);
        return;
      }
      const outcome = decodeResourceAny(this.typeUrl, r.resource, index, name);
      if (outcome.value === undefined) out.errors.push(...outcome.errors);
      else out.decoded.push({ ...outcome.value, version: r.version });
    });
    for (const name of response.removed_resources) {
      if (out.offered.has(name)) out.errors.push(`removed resource '${name}': duplicate name found in the union of added+removed resources`);
      out.removedNames.add(name);
    }
    for (const n of response.removed_resource_names ?? []) if (n.name !== '') out.removedNames.add(n.name);
    return out;
  }

  /** Step 2: what the update means for the watcher; resources not asked for and unchanged bytes are left out. */
  private diff(entries: DeltaEntries): { changed: Map<string, ChangedResource>; reconfirmed: Array<{ name: string; version: string }>; removed: string[] } {
    const changed = new Map<string, ChangedResource>();
    const reconfirmed: Array<{ name: string; version: string }> = [];
    for (const d of entries.decoded) {
      if (!isInterested(this.interest, d.name)) {
        if (log.debugEnabled) log.debug(`delta ${shortTypeName(this.typeUrl)}: ignoring unrequested resource '${d.name}'`);
        continue;
      }
      if (this.ledger.get(d.name)?.hash === d.hash) {
        // Istio may resend unchanged resources; only the version moves.
        reconfirmed.push({ name: d.name, version: d.version });
        continue;
      }
      changed.set(d.name, { resource: d.resource, version: d.version, hash: d.hash });
    }
    const removed: string[] = [];
    for (const name of [...entries.removedNames, ...entries.absent]) {
      if (isInterested(this.interest, name) || this.ledger.get(name) !== undefined) removed.push(name);
    }
    return { changed, reconfirmed, removed };
  }

  /**
   * Records an accepted update in the ledger. The watcher may have narrowed the interest while
   * it was applying; names it let go of are not recorded (if asked for again, they must reach it).
   */
  private commit(changed: ReadonlyMap<string, ChangedResource>, reconfirmed: ReadonlyArray<{ name: string; version: string }>, removed: readonly string[]): void {
    const now = this.now();
    for (const [name, c] of changed) {
      if (isInterested(this.interest, name)) this.ledger.apply(name, { version: c.version, hash: c.hash!, lastUpdatedMs: now });
    }
    for (const { name, version } of reconfirmed) {
      const held = this.ledger.get(name);
      if (held !== undefined) this.ledger.apply(name, { ...held, version });
    }
    // A removed name still explicitly subscribed stays wanted, as DOES_NOT_EXIST, with no version
    // to offer on reconnect ("leave the version map entry present but blank").
    for (const name of removed) this.ledger.remove(name, !this.interest.wildcard && this.interest.names.has(name));
    this.lastUpdatedMs = now;
  }

  status(): TypeStatus {
    return {
      typeUrl: this.typeUrl,
      subscription: !this.subscribed ? undefined : this.interest.wildcard ? 'wildcard' : [...this.interest.names],
      versionInfo: this.systemVersion,
      lastAckedNonce: this.lastAckedNonce,
      lastUpdatedMs: this.lastUpdatedMs,
      lastNack: this.lastNack,
      acks: this.acks,
      nacks: this.nacks,
      resources: this.ledger.statuses(this.interest),
    };
  }

  // === Requests ===

  private nack(response: RawDeltaDiscoveryResponse, errors: readonly string[], names: Iterable<string>, epoch = this.streamEpoch): ResponseOutcome {
    const details = nackMessage(errors);
    const failure: UpdateFailure = { versionInfo: response.system_version_info, nonce: response.nonce, details, lastUpdateAttemptMs: this.now() };
    this.lastNack = failure;
    this.nacks++;
    this.ledger.reject(names, failure);
    log.warn(`delta config for ${this.typeUrl} rejected: ${details}`);
    const request = this.answer(epoch, { nonce: response.nonce, errorDetail: { code: NACK_STATUS_CODE, message: details } });
    return { request, kind: 'nack', version: this.systemVersion };
  }

  /**
   * The ACK/NACK for a response that came on stream `epoch`; none if that stream has been replaced
   * while the watcher was applying. Not building it matters: building a request records what the
   * server was told, and a subscription change held meanwhile would then never be sent.
   */
  private answer(epoch: number, ack: { nonce: string; errorDetail?: ProtoObject }): ProtoObject | undefined {
    return epoch === this.streamEpoch ? this.request(ack) : undefined;
  }

  /**
   * Builds the next request: the subscription diff since the server was last told, plus the
   * ACK/NACK fields when `ack` is given. Undefined when there is nothing to say.
   */
  private request(ack: { nonce: string; errorDetail?: ProtoObject } | undefined): ProtoObject | undefined {
    const wanted = this.interest.wildcard ? new Set([WILDCARD]) : this.interest.names;
    const req: Record<string, ProtoObject[string]> = { type_url: this.typeUrl };
    let subscribe: string[];
    let unsubscribe: string[] = [];
    if (!this.sentOnStream) {
      // A fresh stream: state the whole interest. With no interest at all there is nothing to
      // say (an empty first request would be the legacy wildcard).
      if (wanted.size === 0 && ack === undefined) return undefined;
      // Wildcard alone is asked for with no names: the legacy form every server understands,
      // and what Envoy sends (`isInitialRequestForLegacyWildcard`).
      subscribe = this.interest.wildcard ? [] : [...wanted];
      const versions: Record<string, string> = {};
      let any = false;
      for (const [name, copy] of this.ledger.entries()) {
        if (copy.version === '' || !isInterested(this.interest, name)) continue;
        versions[name] = copy.version;
        any = true;
      }
      if (any) req['initial_resource_versions'] = versions;
    } else {
      subscribe = [...wanted].filter((n) => !this.told.has(n) || this.resubscribe.has(n));
      unsubscribe = [...this.told].filter((n) => !wanted.has(n));
      if (subscribe.length === 0 && unsubscribe.length === 0 && ack === undefined) return undefined;
    }
    this.told = new Set(wanted);
    this.resubscribe.clear();
    this.sentOnStream = true;
    if (subscribe.length > 0) req['resource_names_subscribe'] = subscribe;
    if (unsubscribe.length > 0) req['resource_names_unsubscribe'] = unsubscribe;
    if (ack !== undefined) {
      req['response_nonce'] = ack.nonce;
      if (ack.errorDetail !== undefined) req['error_detail'] = ack.errorDetail;
    }
    return req;
  }
}
