/**
 * A downstream HTTP/2 stream on the frame-level core (src/h2): the Downstream the router
 * sees, and the stream's handler at the same time (no closures, no Duplex per request).
 *
 * Request bytes are returned to the client's flow-control windows as they are handed to
 * the router; while the router pauses the body they wait here, unacknowledged, so a slow
 * upstream holds the client back through HTTP/2 flow control.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { eventNow } from '../common/event-clock';
import { ErrorCode } from '../h2/frames';
import type { H2Connection } from '../h2/h2-connection';
import type { H2Stream, StreamHandler } from '../h2/h2-stream';
import type { Downstream, DownstreamCloseListener, RequestBody } from './downstream';

const EMPTY = Buffer.alloc(0);
const EMPTY_TRAILERS: OutgoingHttpHeaders = {};

/** Told when a downstream stream ends: the connection's flood accounting. */
export interface FrameStreamObserver {
  onStreamEnd(ds: FrameDownstream, remoteReset: boolean): void;
}

type DataListener = (this: RequestBody, chunk: Buffer) => void;
type EndListener = (this: RequestBody) => void;

/** The request body: a minimal Readable (data/end, pause/resume) over the stream's DATA frames. */
class FrameRequestBody implements RequestBody {
  // The router adds one listener of each kind; more are rare (filters), so arrays only then.
  private dataListener: DataListener | undefined;
  private moreDataListeners: DataListener[] | undefined;
  private endListener: EndListener | undefined;
  private moreEndListeners: EndListener[] | undefined;
  /** null: no reader yet (like a Readable, data waits); true: flowing; false: paused. */
  private flowing: boolean | null = null;
  private queued: Buffer[] | undefined;
  private endQueued = false;
  readableEnded = false;
  private flushScheduled = false;

  constructor(private readonly owner: FrameDownstream) {}

  on(event: 'data' | 'end', listener: DataListener | EndListener): this {
    if (event === 'data') {
      if (this.dataListener === undefined) this.dataListener = listener as DataListener;
      else (this.moreDataListeners ??= []).push(listener as DataListener);
      if (this.flowing === null) this.resume();
    } else {
      this.addEndListener(listener as EndListener);
    }
    return this;
  }

  once(event: 'end', listener: EndListener): this {
    // 'end' is emitted at most once, so `once` is `on`.
    this.addEndListener(listener);
    return this;
  }

  pause(): this {
    this.flowing = false;
    return this;
  }

  /** Starts (or restarts) delivery, on the next tick as a Readable does, so listeners added right after still hear everything. */
  resume(): this {
    this.flowing = true;
    if ((this.queued !== undefined || this.endQueued) && !this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(flushBody, this);
    }
    return this;
  }

  /** A DATA payload arrived. */
  push(chunk: Buffer, end: boolean): void {
    if (this.flowing === true && this.queued === undefined) {
      if (chunk.length > 0) this.deliver(chunk);
    } else if (chunk.length > 0) {
      (this.queued ??= []).push(chunk);
    }
    if (end) {
      this.endQueued = true;
      if (this.flowing === true && this.queued === undefined) this.emitEnd();
    }
  }

  flush(): void {
    this.flushScheduled = false;
    const queued = this.queued;
    while (this.flowing === true && queued !== undefined && queued.length > 0) this.deliver(queued.shift()!);
    if (queued !== undefined && queued.length === 0) this.queued = undefined;
    if (this.flowing === true && this.queued === undefined && this.endQueued) this.emitEnd();
  }

  /** Bytes still waiting (their window is returned when the stream goes away). */
  discard(): number {
    let n = 0;
    for (const c of this.queued ?? []) n += c.length;
    this.queued = undefined;
    return n;
  }

  private addEndListener(listener: EndListener): void {
    if (this.endListener === undefined) this.endListener = listener;
    else (this.moreEndListeners ??= []).push(listener);
  }

  private deliver(chunk: Buffer): void {
    this.owner.consumed(chunk.length);
    this.dataListener?.call(this, chunk);
    if (this.moreDataListeners !== undefined) for (const l of this.moreDataListeners) l.call(this, chunk);
  }

  private emitEnd(): void {
    if (this.readableEnded) return;
    this.readableEnded = true;
    this.endQueued = false;
    this.endListener?.call(this);
    if (this.moreEndListeners !== undefined) for (const l of this.moreEndListeners) l.call(this);
  }
}

/** Whether a header object has any field (without building the key array Object.keys would). */
function hasField(headers: OutgoingHttpHeaders): boolean {
  for (const _ in headers) return true;
  return false;
}

function flushBody(body: FrameRequestBody): void {
  body.flush();
}

export class FrameDownstream implements Downstream, StreamHandler {
  readonly protocol = 'HTTP/2' as const;
  readonly body: FrameRequestBody;
  private closeListener: DownstreamCloseListener | undefined;
  private drainCb: (() => void) | undefined;
  private expectTrailers = false;
  private responseEnded = false;
  private localReset = false;
  private done = false;
  /** When the stream opened (performance.now() clock), for premature-reset accounting. */
  readonly openedAt = eventNow();

  constructor(
    private readonly conn: H2Connection,
    private readonly stream: H2Stream,
    readonly headers: IncomingHttpHeaders,
    readonly localAddress: string,
    readonly remoteAddress: string,
    readonly originalDst: string | undefined,
    private readonly observer: FrameStreamObserver,
    endStream: boolean,
  ) {
    this.body = new FrameRequestBody(this);
    stream.handler = this;
    stream.context = this;
    if (endStream) this.body.push(EMPTY, true);
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get closed(): boolean {
    return this.done || this.stream.closed;
  }

  respond(headers: OutgoingHttpHeaders, endStream: boolean, expectTrailers: boolean): void {
    if (this.closed) return;
    this.expectTrailers = expectTrailers && !endStream;
    this.conn.respond(this.stream, headers, endStream);
    if (endStream) this.finishResponse();
  }

  write(chunk: Buffer): boolean {
    if (this.closed) return true;
    return this.conn.sendData(this.stream, chunk, false);
  }

  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }

  end(trailers: OutgoingHttpHeaders | undefined): void {
    if (this.closed) return;
    // gRPC: trailers always (an empty HEADERS frame with END_STREAM is valid when the upstream sent none).
    if (this.expectTrailers || (trailers !== undefined && hasField(trailers))) this.conn.sendTrailers(this.stream, trailers ?? EMPTY_TRAILERS);
    else this.conn.sendData(this.stream, EMPTY, true);
    this.finishResponse();
  }

  reset(h2Code: number): void {
    if (this.closed) return;
    this.localReset = true;
    this.conn.resetStream(this.stream, h2Code);
    this.close(false);
  }

  onClose(listener: DownstreamCloseListener): void {
    this.closeListener = listener;
  }

  /** The router took `n` body bytes. */
  consumed(n: number): void {
    this.conn.consumed(this.stream, n);
  }

  // ---- StreamHandler (the connection calls these) ----

  onHeaders(_stream: H2Stream, _trailers: IncomingHttpHeaders, endStream: boolean): void {
    // Request trailers: not forwarded (as before with node:http2); they end the body.
    if (endStream) this.body.push(EMPTY, true);
  }

  onData(_stream: H2Stream, chunk: Buffer, endStream: boolean): void {
    this.body.push(chunk, endStream);
  }

  onReset(_stream: H2Stream, _code: number, connectionGone: boolean): void {
    this.returnQueuedWindow();
    this.close(true, connectionGone);
  }

  onWritable(): void {
    if (this.responseEnded) this.finishResponse();
    const cb = this.drainCb;
    this.drainCb = undefined;
    cb?.();
  }

  onComplete(): void {
    this.close(false);
  }

  /**
   * The response is complete on our side. A client still sending its body is told to stop
   * with RST_STREAM(NO_ERROR), as RFC 9113 §8.1 allows (node:http2 and Envoy do the same).
   */
  private finishResponse(): void {
    this.responseEnded = true;
    if (this.stream.closed || this.stream.remoteEnded || this.stream.pending !== undefined) return;
    this.localReset = true;
    this.returnQueuedWindow();
    this.conn.resetStream(this.stream, ErrorCode.NO_ERROR);
    this.close(false);
  }

  private returnQueuedWindow(): void {
    const n = this.body.discard();
    if (n > 0) this.conn.consumed(this.stream, n);
  }

  private close(remoteReset: boolean, connectionGone = false): void {
    if (this.done) return;
    this.done = true;
    this.observer.onStreamEnd(this, remoteReset && !this.localReset);
    // Asynchronously, as node:http2's 'close': the router may still be inside end() or reset().
    this.closedBy = (remoteReset && !this.localReset ? CLOSED_BY_REMOTE_RESET : 0) | (connectionGone ? CLOSED_WITH_CONNECTION : 0);
    closing.push(this);
    if (closing.length === 1) process.nextTick(notifyClosed);
  }

  /** How the stream closed, for the deferred notification (CLOSED_* bits). */
  private closedBy = 0;

  /** @internal */
  notify(): void {
    this.closeListener?.onDownstreamClose((this.closedBy & CLOSED_BY_REMOTE_RESET) !== 0, (this.closedBy & CLOSED_WITH_CONNECTION) !== 0);
  }
}

const CLOSED_BY_REMOTE_RESET = 1;
const CLOSED_WITH_CONNECTION = 2;

/**
 * Streams closed since the last notification pass, told in order on one tick (one tick object
 * per batch instead of one per request).
 */
let closing: FrameDownstream[] = [];

function notifyClosed(): void {
  const batch = closing;
  let i = 0;
  try {
    // Streams closed while these are told join the batch and are told in this pass too.
    for (; i < batch.length; i++) batch[i]!.notify();
  } finally {
    // A listener that threw does not silence the streams after it.
    closing = i + 1 < batch.length ? batch.slice(i + 1) : [];
    if (closing.length > 0) process.nextTick(notifyClosed);
  }
}
