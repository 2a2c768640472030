/**
 * The ADS client: one bidi gRPC stream to the management server carrying every resource type,
 * reconnected with Envoy's backoff, each type driven by its own protocol state machine
 * ({@link SotwSubscription} or {@link DeltaSubscription}).
 *
 * Connection states:
 *
 * ```
 *  idle ──start()──▶ connecting ──ready / first response──▶ connected
 *                      ▲   │                                   │
 *                      │   └──── stream over ──▶ backoff ◀─────┘
 *                      └──────── timer ───────────┘
 *  any ──close()──▶ closed
 * ```
 *
 * What Envoy does and this mirrors (`source/extensions/config_subscription/grpc/`):
 * - A new stream resends every subscribed type, in subscription order, with the last accepted
 *   version and no nonce (`GrpcMuxImpl::onStreamEstablished`); delta adds
 *   `initial_resource_versions` (`markStreamFresh`).
 * - `node` goes on the first request of each stream, and on every request unless
 *   `set_node_on_first_message_only` ("Only the first request on a stream is guaranteed to carry
 *   the node identifier", xds_protocol.rst; `first_stream_request_` in `GrpcMuxImpl`).
 * - A stream that ends is retried after `JitteredBackOffStrategy(500 ms, 30 s)`, reset by every
 *   response (`GrpcStream::onReceiveMessage`).
 * - Disconnection forgets nothing: the watcher keeps serving the last accepted config.
 * - A response for a type nobody subscribed to is dropped with a warning
 *   (`GrpcMuxImpl::onDiscoveryResponse`, "Ignoring the message for type URL").
 * - Types never wait for each other's requests: a request goes out as soon as its type has
 *   something to say. Only a type's own request is held while that type's response is being
 *   applied (which may span several event-loop turns), so its ACK (built afterwards) carries any
 *   subscription change made by the watcher meanwhile (Envoy pauses the type for the same
 *   reason). Responses, of all types, are handled one at a time in arrival order.
 */
import { legateVersion } from '../../cli/version';
import { logger } from '../../common/logger';
import { noteConfigBytes } from '../../common/startup-tiering';
import { TimeSlicer } from '../../common/time-slices';
import type { ProtoObject } from '../../proto/proto-types';
import { AdsStream } from './ads-stream';
import { JitteredBackoff } from './backoff';
import { DeltaSubscription } from './delta-subscription';
import {
  decodeResponseInSlices, discoveryTypes, encodeRequest, type RawAny, type RawDeltaDiscoveryResponse, type RawDiscoveryResponse,
} from './discovery-messages';
import { predecode, warmUpDecoders } from './resource-decoder';
import { SotwSubscription } from './sotw-subscription';
import { interestOf, type ResponseOutcome } from './type-subscription';
import type { AdsClientOptions, TypeStatus, XdsTypeUrl, XdsWatcher } from './xds-types';

export type { AdsClientOptions, ResourceUpdate, TypeStatus, XdsTypeUrl, XdsWatcher } from './xds-types';

const log = logger('config', __filename);

/** Responses with more resources than this are decoded ahead, in slices. */
const PREDECODE_THRESHOLD = 16;

/** Reconnect backoff base, ms: Envoy's `SubscriptionFactory::RetryInitialDelayMs`. */
export const DEFAULT_INITIAL_BACKOFF_MS = 500;
/** Reconnect backoff cap, ms: Envoy's `SubscriptionFactory::RetryMaxDelayMs`. */
export const DEFAULT_MAX_BACKOFF_MS = 30_000;

/** Connection states of {@link AdsClient}; see the module comment. */
export type AdsState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

type Subscription = SotwSubscription | DeltaSubscription;
type AnyResponse = RawDiscoveryResponse | RawDeltaDiscoveryResponse;

/** The ADS client; see the module comment. */
export class AdsClient {
  private stateValue: AdsState = 'idle';
  private stream: AdsStream | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: JitteredBackoff;
  /** Subscriptions by type URL, in the order types were first subscribed. */
  private readonly subscriptions = new Map<XdsTypeUrl, Subscription>();
  private readonly node: ProtoObject;
  private readonly delta: boolean;
  private readonly now: () => number;
  private nodeSentOnStream = false;
  /** The type whose response is being applied right now (its own requests wait for its ACK). */
  private processing: XdsTypeUrl | undefined;
  /** Types whose subscription changed while their response was being applied (owed to the server). */
  private readonly heldChange = new Set<XdsTypeUrl>();
  private streamsOpened = 0;
  private controlPlaneId = '';
  private pendingRetryDelayMs: number | undefined;

  /**
   * @param options transport and identity; see {@link AdsClientOptions}.
   * @param watcher receives every accepted-or-rejected update and connection changes.
   * Loads Envoy's protos (synchronously) if nothing has yet.
   * @throws RangeError for inconsistent backoff bounds (a bootstrap decoding bug).
   */
  constructor(private readonly options: AdsClientOptions, private readonly watcher: XdsWatcher) {
    this.backoff = new JitteredBackoff(
      options.initialBackoffMs ?? DEFAULT_INITIAL_BACKOFF_MS,
      options.maxBackoffMs ?? Math.max(DEFAULT_MAX_BACKOFF_MS, options.initialBackoffMs ?? 0),
      options.random,
    );
    this.delta = options.apiType === 'DELTA_GRPC';
    this.now = options.now ?? Date.now;
    this.node = withUserAgent(options.node);
    // Load Envoy's protos now (hundreds of ms, synchronous) rather than inside the first send,
    // where the stall would eat into the first stream's connect deadline; and let the resource
    // decoders set themselves up, which would otherwise stall the first push.
    discoveryTypes();
    warmUpDecoders();
  }

  /** The current connection state. */
  get state(): AdsState {
    return this.stateValue;
  }

  /** True while a stream is up and the control plane has been reached. */
  get connected(): boolean {
    return this.stateValue === 'connected';
  }

  /** Streams opened so far (the first one included): a reconnect counter for stats and tests. */
  get streamCount(): number {
    return this.streamsOpened;
  }

  /**
   * `control_plane.identifier` of the latest response that carried one (Envoy's
   * `control_plane.identifier` text readout); `''` until then.
   */
  get controlPlaneIdentifier(): string {
    return this.controlPlaneId;
  }

  /** The delay chosen for the pending reconnect while in `backoff`, ms; undefined otherwise. */
  get retryDelayMs(): number | undefined {
    return this.pendingRetryDelayMs;
  }

  /** Opens the first stream. Subscriptions made before are sent on it. Idempotent. */
  start(): void {
    if (this.transition(['idle'], 'connecting')) this.openStream();
  }

  /**
   * Sets the names wanted for a type: `'wildcard'` (Envoy's choice for LDS and CDS) or an
   * explicit list (RDS, EDS; `[]` = no interest). When it changed and a stream is up, the
   * request goes out now (SotW: the full list at the current version and latest nonce; delta:
   * the subscribe/unsubscribe difference); otherwise it goes with the next stream. Names
   * dropped are forgotten, so their next copy reaches the watcher even if unchanged.
   */
  subscribe(typeUrl: XdsTypeUrl, names: 'wildcard' | readonly string[]): void {
    if (this.stateValue === 'closed') return;
    let sub = this.subscriptions.get(typeUrl);
    if (sub === undefined) {
      sub = this.delta ? new DeltaSubscription(typeUrl, this.now) : new SotwSubscription(typeUrl, this.now);
      this.subscriptions.set(typeUrl, sub);
    }
    if (!sub.setInterest(interestOf(names))) return;
    if (log.debugEnabled) log.debug(`ads: interest in ${typeUrl}: ${names === 'wildcard' ? '*' : `[${names.join(', ')}]`}`);
    // While this type's response is being applied, the change rides on its ACK/NACK.
    if (this.processing === typeUrl) this.heldChange.add(typeUrl);
    else if (this.stream !== undefined) this.send(sub.pendingRequest());
  }

  /** Per-type status for `/config_dump` and CSDS; an unknown type reports as never subscribed. */
  status(typeUrl: XdsTypeUrl): TypeStatus {
    const sub = this.subscriptions.get(typeUrl);
    if (sub !== undefined) return sub.status();
    return { typeUrl, subscription: undefined, versionInfo: '', lastAckedNonce: '', lastUpdatedMs: undefined, lastNack: undefined, acks: 0, nacks: 0, resources: [] };
  }

  /** {@link status} of every subscribed type, in subscription order. */
  statuses(): TypeStatus[] {
    return [...this.subscriptions.values()].map((s) => s.status());
  }

  /** Stops for good: cancels the stream and any retry. The watcher's config stays as it is. */
  close(): void {
    const wasConnected = this.stateValue === 'connected';
    if (!this.transition(['idle', 'connecting', 'connected', 'backoff'], 'closed')) return;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.pendingRetryDelayMs = undefined;
    this.stream?.close();
    this.stream = undefined;
    if (wasConnected) this.notifyConnection(false);
  }

  // === Stream lifecycle ===

  private openStream(): void {
    this.streamsOpened++;
    this.nodeSentOnStream = false;
    const stream: AdsStream = new AdsStream(this.options, this.options.apiType, {
      onReady: () => {
        if (stream === this.stream) this.markConnected();
      },
      onMessage: (bytes) => {
        if (stream === this.stream) this.onMessage(bytes);
      },
      onClose: (code, details) => {
        if (stream === this.stream) this.onStreamClosed(`gRPC status ${code}: ${details}`, code === 0);
      },
    });
    this.stream = stream;
    if (log.debugEnabled) log.debug(`ads: establishing stream ${this.streamsOpened} (${this.options.apiType})`);
    // Restate every type's interest, in the order the types were first subscribed.
    for (const sub of this.subscriptions.values()) sub.streamStarted();
    for (const sub of this.subscriptions.values()) this.send(sub.pendingRequest());
  }

  private markConnected(): void {
    if (this.transition(['connecting'], 'connected')) {
      log.info(`ads: connected to the xDS server (${this.options.apiType})`);
      this.notifyConnection(true);
    }
  }

  private onStreamClosed(reason: string, ok: boolean): void {
    const wasConnected = this.stateValue === 'connected';
    if (!this.transition(['connecting', 'connected'], 'backoff')) return;
    this.stream?.close();
    this.stream = undefined;
    const delayMs = this.backoff.nextBackOffMs();
    // A clean close is routine (istiod recycles streams); anything else is worth a warning.
    log.log(ok ? 'debug' : 'warning', `ads: stream closed (${reason}); retrying in ${delayMs} ms`);
    if (wasConnected) this.notifyConnection(false);
    if (this.stateValue !== 'backoff') return; // the watcher closed us
    this.pendingRetryDelayMs = delayMs;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pendingRetryDelayMs = undefined;
      if (this.transition(['backoff'], 'connecting')) this.openStream();
    }, delayMs);
  }

  private notifyConnection(connected: boolean): void {
    try {
      this.watcher.onConnectionState?.(connected);
    } catch (err) {
      log.error(`ads: onConnectionState threw: ${(err as Error).message}`);
    }
  }

  // === Responses ===

  /** Responses waiting to be handled, in arrival order, with the stream each came on. */
  private inbox: Array<{ readonly bytes: Buffer; readonly stream: AdsStream | undefined }> = [];
  private handling = false;

  private onMessage(bytes: Buffer): void {
    this.markConnected();
    // Any response proves the server answers: the next disconnect starts from the base delay.
    this.backoff.reset();
    // A start with a big mesh to decode gets the optimizing compiler for it.
    noteConfigBytes(bytes.length);
    this.inbox.push({ bytes, stream: this.stream });
    if (!this.handling) void this.handleInbox();
  }

  /**
   * Handles responses one at a time, in order. A large response is decoded ahead in slices
   * (see `predecode`) and the watcher may validate and commit it over several event-loop turns
   * too (its `onUpdate` may return a promise), so the event loop keeps serving requests
   * meanwhile; the ACK/NACK goes out once the watcher has settled, and only then is the next
   * response looked at. Responses of a stream that has since been replaced are dropped (their
   * nonces mean nothing any more).
   */
  private async handleInbox(): Promise<void> {
    this.handling = true;
    try {
      while (this.inbox.length > 0) {
        const m = this.inbox.shift()!;
        if (m.stream === undefined || m.stream !== this.stream) continue;
        await this.handleMessage(m.bytes, m.stream);
      }
    } finally {
      this.handling = false;
    }
  }

  private async handleMessage(bytes: Buffer, stream: AdsStream): Promise<void> {
    // A response is handled in time slices taken from the shared turn queue, so that a push of
    // thousands of resources never holds the event loop for long, nor stacks onto another task's
    // slice (applying the previous response, say): decoding the message and, for a big one, its
    // resources; then, on a turn of its own, the state machine and the watcher (which slices its
    // own work). Not even the first slice runs inside the I/O callback that delivered the bytes.
    const slicer = new TimeSlicer();
    await slicer.yield();
    if (this.stream !== stream) return;
    const response = await this.decode(bytes, stream, slicer);
    if (response === undefined || this.stream !== stream) return;
    const routed = this.route(response);
    if (routed === undefined) return;
    if (routed.anys.length > PREDECODE_THRESHOLD) {
      await predecode(routed.anys, routed.knows, () => this.stream === stream, slicer);
      if (this.stream !== stream) return;
      await slicer.yield();
      if (this.stream !== stream) return;
    }
    const outcome = await this.runHeld(routed.typeUrl, routed.run);
    if (outcome === undefined) return;
    if (this.stream !== stream) {
      // Replaced (or closed) while the watcher was applying: the nonce means nothing on the new
      // stream, whose first request already restated the interest (the state machine built no
      // answer). Only a subscription change held back meanwhile is still owed to the server.
      const held = this.heldChange.delete(routed.typeUrl);
      if (held && this.stream !== undefined) this.send(this.subscriptions.get(routed.typeUrl)?.pendingRequest());
      return;
    }
    this.heldChange.delete(routed.typeUrl);
    this.send(outcome.request);
    if (outcome.kind === 'none') return;
    try {
      this.watcher.onAckSent?.(routed.typeUrl, outcome.kind === 'nack', outcome.version);
    } catch (err) {
      log.error(`ads: onAckSent threw: ${(err as Error).message}`);
    }
  }

  /**
   * Runs a state machine's handling of one response (the watcher may take several event-loop
   * turns) with the type's own requests held, so the ACK/NACK built afterwards carries any
   * subscription change made meanwhile. Undefined when the state machine failed.
   */
  private async runHeld(typeUrl: XdsTypeUrl, run: (w: XdsWatcher) => Promise<ResponseOutcome>): Promise<ResponseOutcome | undefined> {
    this.processing = typeUrl;
    try {
      return await run(this.watcher);
    } catch (err) {
      // A bug in the state machine, not server input: log it and leave the response unanswered
      // rather than throw out of a grpc-js callback.
      log.error(`ads: internal error handling a ${typeUrl} response: ${(err as Error).stack ?? String(err)}`);
      return undefined;
    } finally {
      this.processing = undefined;
    }
  }

  /**
   * Decodes one response, in slices. An undecodable message has no nonce to NACK: the stream is
   * restarted (if it is still the current one), as a gRPC codec error would in Envoy.
   */
  private async decode(bytes: Buffer, stream: AdsStream, slicer: TimeSlicer): Promise<AnyResponse | undefined> {
    try {
      return await decodeResponseInSlices(this.delta, bytes, slicer);
    } catch (err) {
      if (this.stream === stream) this.restartStream(`undecodable ${this.delta ? 'Delta' : ''}DiscoveryResponse: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** Finds the subscription a response is for; undefined (with a warning) when there is none. */
  private route(response: AnyResponse): { typeUrl: string; anys: readonly RawAny[]; knows: (hash: string) => boolean; run: (w: XdsWatcher) => Promise<ResponseOutcome> } | undefined {
    const identifier = response.control_plane?.identifier;
    if (identifier !== undefined && identifier !== '' && identifier !== this.controlPlaneId) {
      this.controlPlaneId = identifier;
      if (log.debugEnabled) log.debug(`ads: receiving updates from control plane '${identifier}'`);
    }
    const sub = this.subscriptions.get(response.type_url);
    if (sub === undefined) {
      log.warn(`ads: ignoring a response for type URL '${response.type_url}' (nonce ${response.nonce}): not subscribed`);
      return undefined;
    }
    if (log.debugEnabled) log.debug(`ads: received ${response.type_url} nonce ${response.nonce}`);
    const anys: RawAny[] = [];
    for (const r of response.resources) {
      const any = 'type_url' in r ? r : r.resource;
      if (any) anys.push(any);
    }
    const knows = sub instanceof SotwSubscription ? (h: string) => sub.knowsDigest(h) : () => false;
    return {
      typeUrl: response.type_url,
      anys,
      knows,
      // The response was decoded for the API type the subscriptions were built for.
      run: (w) => (sub as unknown as { handleResponse(r: AnyResponse, w: XdsWatcher): Promise<ResponseOutcome> }).handleResponse(response, w),
    };
  }

  private restartStream(reason: string): void {
    log.warn(`ads: ${reason}; restarting the stream`);
    this.onStreamClosed(reason, false);
  }

  // === Requests ===

  private send(request: ProtoObject | undefined): void {
    const stream = this.stream;
    if (request === undefined || stream === undefined) return;
    const withNode = !this.options.setNodeOnFirstMessageOnly || !this.nodeSentOnStream;
    const message = withNode ? { ...request, node: this.node } : request;
    let bytes: Buffer;
    try {
      bytes = encodeRequest(this.delta, message);
    } catch (err) {
      // Only a malformed node (a bootstrap decoding bug) can get here.
      log.error(`ads: cannot encode a request for ${String(request['type_url'])}: ${(err as Error).message}`);
      return;
    }
    this.nodeSentOnStream = true;
    if (log.traceEnabled) log.trace(`ads: sending ${JSON.stringify({ ...request, node: withNode ? '(node)' : undefined })}`);
    stream.write(bytes);
  }

  // === State machine ===

  private transition(from: readonly AdsState[], to: AdsState): boolean {
    if (!from.includes(this.stateValue)) return false;
    if (log.traceEnabled) log.trace(`ads: ${this.stateValue} -> ${to}`);
    this.stateValue = to;
    return true;
  }
}

/**
 * The node as sent: `user_agent_name` `legate` and `user_agent_version` (Legate's version) added
 * when missing, unless a `user_agent_build_version` fills the same oneof.
 */
export function withUserAgent(node: Record<string, unknown>): ProtoObject {
  const out: Record<string, unknown> = { ...node };
  if (typeof out['user_agent_name'] !== 'string' || out['user_agent_name'] === '') out['user_agent_name'] = 'legate';
  if (out['user_agent_version'] === undefined && out['user_agent_build_version'] === undefined) out['user_agent_version'] = legateVersion();
  return out as ProtoObject;
}
