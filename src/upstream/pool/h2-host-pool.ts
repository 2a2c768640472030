/**
 * `H2HostPool`: the HTTP/2 client sessions of one upstream host, shared by every call routed to it.
 *
 * Placement rule for a new stream (Envoy's HTTP/2 pool behaviour):
 * 1. the oldest `ready` session with spare capacity
 *    (capacity = `min(peer SETTINGS_MAX_CONCURRENT_STREAMS, maxConcurrentStreams) - active`);
 * 2. otherwise the request waits in a FIFO queue, and a new session is opened unless the sessions
 *    already connecting can absorb the queue or `maxSessions` is reached. A connecting session
 *    counts as the stream limit the host last advertised (100 before any SETTINGS were seen);
 *    sessions become ready only once their peer's SETTINGS arrive, so placement uses real limits;
 * 3. queued requests are handed out as capacity appears: a session connects, a stream closes,
 *    SETTINGS raise the limit, or a session closes (which may open a replacement).
 * A failed connect fails the queued requests the remaining connecting sessions cannot absorb; the
 * pool never reconnects on its own after a failure (the caller's retry policy decides).
 *
 * The pool is synchronous and allocation-light on the hot path: a request that finds capacity
 * opens its stream and runs its callback before `request()` returns, allocating no Promise,
 * closure or handle; only queued requests get a {@link PendingRequest}.
 */
import type * as http2 from 'node:http2';
import { PendingRequest, SETTLED_HANDLE } from './pending-request';
import type { PendingHandle, PendingOwner, PoolCallback } from './pending-request';
import { PoolError } from './pool-error';
import { resolvePoolEvents } from './pool-events';
import type { H2PoolEvents } from './pool-events';
import { describeAddress, resolvePoolOptions } from './pool-options';
import type { H2PoolOptions, PoolAddress } from './pool-options';
import { ASSUMED_PEER_MAX_STREAMS } from './pool-options';
import type { PoolSession, SessionFactory, SessionOwner } from './pooled-session';
import { RingQueue } from './ring-queue';
import { POOL_TRACE, trace } from './trace';

// Convenience re-exports for callers that import from this file alone.
export { PoolError } from './pool-error';

/**
 * - `active`: takes requests.
 * - `draining`: `drain()` was called; takes no requests, open streams finish, then `closed`.
 * - `closed`: takes no requests; `close()` was called or draining finished. Sessions destroyed by
 *   `close()` may still be finishing (`sessionCount` drops to 0 shortly after).
 */
export type PoolState = 'active' | 'draining' | 'closed';

function isQueued(request: { readonly state: string }): boolean {
  return request.state === 'queued';
}

/**
 * A limit shared with other pools (the cluster's max_connections circuit breaker). `canConnect()`
 * is asked before each new session; a pool with no session opens one anyway, so its queued
 * requests never starve (Envoy's tryCreateNewConnection). The callee counts refusals.
 */
export interface SharedConnectionLimit {
  canConnect(): boolean;
}

const NO_SHARED_LIMIT: SharedConnectionLimit = { canConnect: () => true };

/** Sessions on node:http2, loaded with the first one (the frame-level core's pools never need it). */
const nodeSessionFactoryLazily: SessionFactory<unknown> = (...args) =>
  (require('./pooled-session') as typeof import('./pooled-session')).nodeSessionFactory(...args);

export class H2HostPool<S = http2.ClientHttp2Stream> implements SessionOwner, PendingOwner {
  readonly address: PoolAddress;
  readonly options: H2PoolOptions;
  private readonly label: string;
  private readonly events: H2PoolEvents;
  private poolState: PoolState = 'active';
  /** Every session not yet `closed`, oldest first. Invariant: `length <= options.maxSessions`. */
  private readonly sessions: PoolSession<S>[] = [];
  /** Holds queued requests and lazily-skipped cancelled ones. */
  private readonly queue = new RingQueue<PendingRequest<S>>();
  /** Invariant: number of entries in `queue` whose state is `queued`. */
  private queued = 0;
  /** Invariant: sum of `activeStreams` over every session this pool opened, including closed ones still finishing. */
  private active = 0;
  private dispatching = false;
  private drainWaiters: (() => void)[] = [];
  /**
   * Streams a connecting session is assumed able to take: the stream limit of the most recent
   * SETTINGS from this host (peers of one host normally agree), 100 before any. Always >= 1.
   */
  private connectingCapacity: number;

  /**
   * @param address the host (IP or name, and port) or Unix socket path to connect to.
   * @param options partial options; missing ones take Envoy's defaults. Throws `RangeError` if invalid.
   * @param events optional lifecycle callbacks for stats.
   */
  constructor(
    address: PoolAddress,
    options?: Partial<H2PoolOptions>,
    events?: Partial<H2PoolEvents>,
    private readonly sharedLimit: SharedConnectionLimit = NO_SHARED_LIMIT,
    /** What carries the sessions: node:http2 by default, or the frame-level core. */
    private readonly sessionFactory: SessionFactory<S> = nodeSessionFactoryLazily as unknown as SessionFactory<S>,
  ) {
    this.label = describeAddress(address);
    this.address = address;
    this.options = resolvePoolOptions(options);
    this.events = resolvePoolEvents(events);
    this.connectingCapacity = Math.min(ASSUMED_PEER_MAX_STREAMS, this.options.maxConcurrentStreams);
  }

  /** See {@link PoolState}. */
  get state(): PoolState {
    return this.poolState;
  }

  /** Streams opened through this pool whose 'close' has not fired yet (for least-request LB). */
  get activeStreams(): number {
    return this.active;
  }

  /** Sessions not yet closed: connecting, ready or draining. */
  get sessionCount(): number {
    return this.sessions.length;
  }

  /** True when a request made now would wait in the queue (no ready session with room). */
  wouldQueue(): boolean {
    return this.poolState === 'active' && (this.queued > 0 || this.findReady() === undefined);
  }

  /** Requests waiting in the queue (`upstream_rq_pending_active`). */
  get pendingRequests(): number {
    return this.queued;
  }

  /**
   * Opens a stream on a session with spare capacity, waiting in the queue if none is ready.
   *
   * The callback runs exactly once unless the request is cancelled while queued. It runs
   * synchronously, before `request()` returns, whenever the outcome is known at once: a stream
   * opened on a ready session, or an immediate failure (`closed`, `overflow`, `invalid_request`).
   * `options` go to Node's `session.request()` (e.g. `{ endStream: false, waitForTrailers: true }`);
   * share one object across requests.
   *
   * How the caller reads the stream's outcome:
   * - complete response: 'trailers' (gRPC) or response headers with END_STREAM, then 'end', then
   *   'close'. A 'close' with `rstCode === 0` (NGHTTP2_NO_ERROR) after that is success even if
   *   the peer reset the stream before we finished sending (RFC 9113 §8.1): all received data and
   *   trailers are delivered first. Node reports a reset-with-NO_ERROR *before* END_STREAM the same
   *   way ('end', then 'close' with rstCode 0), so for gRPC the absence of trailers is what marks a
   *   truncated response.
   * - failure: 'close' with a non-zero `rstCode`, usually after 'error' (ERR_HTTP2_STREAM_ERROR,
   *   ERR_HTTP2_SESSION_ERROR, or the pool's SessionDestroyedError). Not always: when the peer
   *   closes the TCP connection mid-response Node emits 'end' and then 'close' with rstCode 8
   *   (CANCEL) and no 'error'. So decide at 'close', from `rstCode`, never at 'end'.
   *   Use {@link isUnprocessedStreamFailure} to decide whether it can be replayed elsewhere.
   *
   * @returns a handle whose `cancel()` withdraws the request while it is queued.
   */
  request(headers: http2.OutgoingHttpHeaders, callback: PoolCallback<S>, options?: http2.ClientSessionRequestOptions): PendingHandle {
    if (this.poolState !== 'active') {
      callback(this.closedError(), undefined, undefined, false);
      return SETTLED_HANDLE;
    }
    if (this.queued === 0) {
      for (let session = this.findReady(); session !== undefined; session = this.findReady()) {
        if (this.openOn(session, headers, options, callback)) return SETTLED_HANDLE;
      }
    }
    if (this.queued >= this.options.maxPendingRequests) {
      callback(new PoolError('overflow', 'pending request overflow'), undefined, undefined, false);
      return SETTLED_HANDLE;
    }
    const pending = new PendingRequest<S>(this, headers, options, callback);
    this.queue.push(pending);
    this.queued++;
    if (POOL_TRACE) trace('pool', `${this.label} queued request (${this.queued} pending, ${this.sessions.length} sessions)`);
    this.dispatch();
    return pending;
  }

  /**
   * Stops taking requests, fails queued ones with kind `closed` (nothing was sent, so the caller
   * may send them to another host), sends GOAWAY on every session and lets open streams finish.
   * `onDrained` runs (asynchronously) once every session has closed; the pool is then `closed`.
   */
  drain(onDrained?: () => void): void {
    if (onDrained !== undefined) this.drainWaiters.push(onDrained);
    if (this.poolState === 'active') {
      this.poolState = 'draining';
      if (POOL_TRACE) trace('pool', `${this.label} draining ${this.sessions.length} sessions, ${this.active} active streams`);
      this.failQueued(this.queued, this.closedError());
      for (const session of this.sessions.slice()) session.retire('drain');
    }
    if (this.sessions.length === 0) this.finishDrain();
  }

  /** Destroys every session now (open streams fail) and fails queued requests with kind `closed`. */
  close(): void {
    if (this.poolState !== 'closed' && POOL_TRACE) trace('pool', `${this.label} closing`);
    this.poolState = 'closed';
    this.failQueued(this.queued, this.closedError());
    for (const session of this.sessions.slice()) session.destroy('pool_closed');
    if (this.sessions.length === 0) this.finishDrain();
  }

  // === SessionOwner ===

  onSessionCapacity(_session: PoolSession<unknown>): void {
    if (this.queued > 0) this.dispatch();
  }

  onSessionSettings(session: PoolSession<unknown>): void {
    this.connectingCapacity = Math.max(1, session.streamLimit);
  }

  onSessionStreamClosed(_session: PoolSession<unknown>): void {
    this.active--;
    if (this.queued > 0) this.dispatch();
  }

  onSessionDraining(_session: PoolSession<unknown>): void {
    // Queued requests may now need a replacement session.
    if (this.queued > 0) this.dispatch();
  }

  onSessionClosed(session: PoolSession<unknown>, connectError: PoolError | null): void {
    const index = this.sessions.indexOf(session as PoolSession<S>);
    if (index !== -1) this.sessions.splice(index, 1);
    if (connectError !== null) {
      // Fail what the sessions still connecting cannot absorb (Envoy fails pending requests on a
      // connect failure rather than reconnecting by itself).
      this.failQueued(this.queued - this.countConnecting() * this.connectingCapacity, connectError);
    }
    if (this.poolState === 'active') {
      if (this.queued > 0) this.dispatch();
    } else if (this.sessions.length === 0) {
      this.finishDrain();
    }
  }

  // === PendingOwner ===

  onPendingCancelled(_request: { readonly state: string }): void {
    this.queued--;
    // Cancelled entries are skipped lazily; compact when they dominate so the queue stays bounded.
    if (this.queue.length > 64 && this.queue.length > 2 * this.queued) this.queue.retain(isQueued);
  }

  // === internals ===

  /** Hands queued requests to ready sessions, then opens sessions for what is left. Not re-entrant. */
  private dispatch(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      while (this.queued > 0) {
        const session = this.findReady();
        if (session === undefined) break;
        const pending = this.shiftQueued();
        if (pending === undefined) break;
        pending.state = 'dispatched';
        this.queued--;
        if (!this.openOn(session, pending.headers, pending.options, pending.callback)) {
          pending.state = 'queued'; // the session was unusable; keep its place and look again
          this.queued++;
          this.queue.unshift(pending);
        }
      }
      if (this.poolState === 'active' && this.queued > 0) this.ensureConnecting();
    } finally {
      this.dispatching = false;
    }
  }

  /**
   * Opens a stream on `session` and runs the callback. Returns false, without running the
   * callback, if the session proved unusable (another session should be tried).
   */
  private openOn(
    session: PoolSession<S>,
    headers: http2.OutgoingHttpHeaders,
    options: http2.ClientSessionRequestOptions | undefined,
    callback: PoolCallback<S>,
  ): boolean {
    let stream: S | undefined;
    try {
      stream = session.open(headers, options);
    } catch (err) {
      callback(new PoolError('invalid_request', err instanceof Error ? err.message : String(err), err), undefined, undefined, false);
      return true;
    }
    if (stream === undefined) return false;
    this.active++;
    callback(null, stream, session, session.streamsOpened > 1);
    return true;
  }

  private findReady(): PoolSession<S> | undefined {
    const sessions = this.sessions;
    for (let i = 0; i < sessions.length; i++) {
      const session = sessions[i] as PoolSession<S>;
      if (session.hasCapacity()) return session;
    }
    return undefined;
  }

  private countConnecting(): number {
    let n = 0;
    for (const session of this.sessions) if (session.state === 'connecting') n++;
    return n;
  }

  private ensureConnecting(): void {
    let connecting = this.countConnecting();
    while (this.queued > connecting * this.connectingCapacity) {
      // The shared limit is asked (and counts its refusals) first; a pool without a session opens one anyway.
      if (!this.sharedLimit.canConnect() && this.sessions.length > 0) break;
      if (this.sessions.length >= this.options.maxSessions) break;
      this.sessions.push(this.sessionFactory(this.address, this.label, this.options, this, this.events));
      connecting++;
    }
  }

  private shiftQueued(): PendingRequest<S> | undefined {
    for (;;) {
      const pending = this.queue.shift();
      if (pending === undefined || pending.state === 'queued') return pending;
    }
  }

  /** Fails up to `count` queued requests, oldest first. Callbacks run after the queue is updated. */
  private failQueued(count: number, error: PoolError): void {
    if (count <= 0) return;
    const victims: PendingRequest<S>[] = [];
    while (victims.length < count) {
      const pending = this.shiftQueued();
      if (pending === undefined) break;
      pending.state = 'failed';
      this.queued--;
      victims.push(pending);
    }
    if (POOL_TRACE && victims.length > 0) trace('pool', `${this.label} failing ${victims.length} queued requests: ${error.message}`);
    for (const pending of victims) pending.callback(error, undefined, undefined, false);
  }

  private closedError(): PoolError {
    return new PoolError('closed', this.poolState === 'draining' ? 'pool draining' : 'pool closed');
  }

  private finishDrain(): void {
    this.poolState = 'closed';
    const waiters = this.drainWaiters;
    if (waiters.length === 0) return;
    this.drainWaiters = [];
    process.nextTick(() => {
      for (const waiter of waiters) waiter();
    });
  }
}
