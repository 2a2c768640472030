/**
 * The frame-level HTTP/2 core: one connection (client or server role) read and written as
 * frames straight from the socket. Streams are plain records; DATA payloads are handed to
 * the owner as slices of the bytes read and forwarded without copies; everything written in
 * a tick leaves in one corked socket write (see FrameWriter).
 *
 * Flow control is end to end: a stream's receive window is only returned to the peer when
 * the owner says the bytes have moved on (`consumed`), so a slow reader on the other side
 * holds back the sender instead of growing buffers here.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import { beginEvent, endEvent } from '../common/event-clock';
import { FrameWriter } from './frame-writer';
import {
  CLIENT_PREFACE, ConnectionError, DEFAULT_MAX_FRAME_SIZE, DEFAULT_WINDOW, ErrorCode, Flag, FRAME_HEADER_LENGTH, FrameType,
  MAX_FRAME_SIZE_LIMIT, MAX_WINDOW, Setting,
} from './frames';
import { BlockKind, encodeHeaders, headersFromFields } from './header-block';
import { H2Stream, type StreamHandler } from './h2-stream';
import { StreamTable } from './stream-table';
import { HpackDecoder, HpackError } from './hpack/hpack-decoder';
import { HpackEncoder } from './hpack/hpack-encoder';

export interface H2ConnectionOptions {
  /** SETTINGS_INITIAL_WINDOW_SIZE we advertise (each stream's receive window). */
  readonly streamWindow: number;
  /** The connection's receive window (raised from 65,535 by a WINDOW_UPDATE at start). */
  readonly connectionWindow: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS we advertise (server: enforced with REFUSED_STREAM). */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce. */
  readonly maxHeaderListSize: number;
  /** SETTINGS_MAX_FRAME_SIZE we advertise. */
  readonly maxFrameSize?: number;
  /** Server role, Envoy's header limits: fields per request (max_headers_count) ... */
  readonly maxHeadersCount?: number;
  /** ... and the sum of name and value lengths (max_request_headers_kb); over either, the stream is reset. */
  readonly maxHeaderBytes?: number;
  /** PRIORITY frames allowed per stream opened, plus one stream's worth (max_inbound_priority_frames_per_stream). */
  readonly maxPriorityFramesPerStream?: number;
  /** Consecutive DATA/HEADERS/CONTINUATION frames with no payload and no END_STREAM (max_consecutive_inbound_frames_with_empty_payload). */
  readonly maxConsecutiveEmptyFrames?: number;
  /** Control frames (SETTINGS/PING ACKs, RST_STREAM) queued while the peer is not reading (max_outbound_control_frames). */
  readonly maxOutboundControlFrames?: number;
}

/** What the owner of a connection hears about it. */
export interface ConnectionHandler {
  /** Server role: a new request stream; set `stream.handler` (and `context`) before returning. */
  onStream?(stream: H2Stream, headers: IncomingHttpHeaders, endStream: boolean): void;
  /**
   * Server role: a request's header block is malformed or too large: the stream was (or will be)
   * reset; `tooLarge` asks for a 431 reply instead when the owner wants one.
   */
  onBadRequest?(reason: string): void;
  /** The peer sent SETTINGS (the first time: the connection is usable). */
  onRemoteSettings?(): void;
  /** GOAWAY received: streams above `lastStreamId` were reset as unprocessed. */
  onGoaway?(lastStreamId: number, code: number): void;
  /** The connection is finished (socket closed); every open stream has had onReset. */
  onClose?(error: Error | undefined): void;
  /** A stream left the connection, however it ended (for counting open streams). */
  onStreamClosed?(stream: H2Stream): void;
  /** A PING we sent was acknowledged. */
  onPingAck?(payload: Buffer): void;
}

const EMPTY = Buffer.alloc(0);
/** Bytes queued for the socket past which DATA waits for it to drain (headers and control frames never wait). */
const SOCKET_BACKLOG_LIMIT = 1024 * 1024;

export class H2Connection {
  readonly streams = new StreamTable();
  private readonly writer: FrameWriter;
  private readonly decoder: HpackDecoder;
  private readonly encoder = new HpackEncoder();
  private readonly isServer: boolean;
  private readonly decodeLimit: number;

  // Peer settings.
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  peerMaxConcurrentStreams = 100;
  private gotPeerSettings = false;

  private sendWindow = DEFAULT_WINDOW;
  private recvWindow: number;
  private recvUnacked = 0;
  /** Streams with data waiting for window, in arrival order. */
  private blocked: H2Stream[] = [];

  private nextStreamId: number;
  /** Highest stream id the peer opened (GOAWAY's last_stream_id). */
  private lastPeerStreamId = 0;
  /** Peer's GOAWAY last_stream_id, or -1. */
  goawayReceived = -1;
  goawaySent = false;
  destroyed = false;

  // Reading state.
  private buffered: Buffer | undefined;
  private prefaceLeft: number;
  // Flood accounting (server role, Envoy's codec limits).
  private streamsOpened = 0;
  private priorityFrames = 0;
  private emptyFrames = 0;
  private controlFramesQueued = 0;
  /** Header block being collected across CONTINUATION frames. */
  private headerStream = 0;
  private headerFlags = 0;
  private headerParts: Buffer[] = [];
  private headerBytes = 0;

  constructor(
    readonly socket: Socket,
    role: 'client' | 'server',
    private readonly options: H2ConnectionOptions,
    private readonly handler: ConnectionHandler,
  ) {
    this.isServer = role === 'server';
    this.nextStreamId = this.isServer ? 2 : 1;
    this.prefaceLeft = this.isServer ? CLIENT_PREFACE.length : 0;
    this.recvWindow = options.connectionWindow;
    this.decoder = new HpackDecoder(4096);
    // Past this HPACK list size (32 octets per field + name + value) no block can pass Envoy's
    // limits; decoding keeps going for the table's sake but stops keeping fields (HPACK bombs).
    const o = options;
    this.decodeLimit = o.maxHeaderBytes !== undefined && o.maxHeadersCount !== undefined
      ? o.maxHeaderBytes + 32 * o.maxHeadersCount
      : o.maxHeaderListSize;
    this.writer = new FrameWriter(socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy(undefined));
    socket.on('drain', () => {
      this.controlFramesQueued = 0;
      this.drainBlocked();
    });
    if (!this.isServer) this.writer.raw(CLIENT_PREFACE);
    this.sendSettings();
    if (options.connectionWindow > DEFAULT_WINDOW) this.windowUpdate(0, options.connectionWindow - DEFAULT_WINDOW);
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  get remoteSettingsReceived(): boolean {
    return this.gotPeerSettings;
  }

  // ---- Sending -------------------------------------------------------------------------

  /** Client role: opens a stream with these request headers. */
  request(headers: OutgoingHttpHeaders, handler: StreamHandler, endStream: boolean): H2Stream {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new H2Stream(id, handler, this.peerInitialWindow, this.options.streamWindow);
    stream.connection = this;
    this.streams.add(stream);
    this.sendHeaderBlock(stream, headers, endStream);
    return stream;
  }

  /** Server role: response headers (or a 1xx, which does not count as the response). */
  respond(stream: H2Stream, headers: OutgoingHttpHeaders, endStream: boolean): void {
    if (stream.closed) return;
    this.sendHeaderBlock(stream, headers, endStream);
  }

  /**
   * Sends body bytes. Returns false when some of them wait for flow-control window: the
   * owner stops reading its source until `onWritable`.
   */
  sendData(stream: H2Stream, chunk: Buffer, endStream: boolean): boolean {
    if (stream.closed || stream.localEnded) return true;
    if (stream.pending !== undefined) {
      if (chunk.length > 0) stream.pending.push(chunk);
      if (endStream) stream.pendingEnd = true;
      return false;
    }
    const sent = this.writeData(stream, chunk, 0, endStream);
    if (sent === chunk.length) {
      if (endStream) this.endLocal(stream);
      return true;
    }
    stream.pending = [chunk];
    stream.pendingOffset = sent;
    stream.pendingEnd = endStream;
    if (!stream.inBlocked) {
      stream.inBlocked = true;
      this.blocked.push(stream);
    }
    return false;
  }

  /** Ends our side with trailers (after any data still waiting for window). */
  sendTrailers(stream: H2Stream, trailers: OutgoingHttpHeaders): void {
    if (stream.closed || stream.localEnded) return;
    if (stream.pending !== undefined) {
      stream.pendingTrailers = trailers;
      stream.pendingEnd = true;
      return;
    }
    this.sendHeaderBlock(stream, trailers, true);
  }

  /** Resets a stream (no END_STREAM before it: the peer must not see a cut-off message as complete). */
  resetStream(stream: H2Stream, code: number): void {
    if (stream.closed) return;
    stream.rstCode = code;
    this.writer.frame(FrameType.RST_STREAM, 0, stream.id, u32(code));
    this.removeStream(stream);
  }

  /** The owner has passed on `n` received bytes of `stream`: return them to the peer's windows. */
  consumed(stream: H2Stream, n: number): void {
    if (n === 0) return;
    this.recvUnacked += n;
    if (this.recvUnacked >= this.options.connectionWindow >>> 1) {
      this.windowUpdate(0, this.recvUnacked);
      this.recvWindow += this.recvUnacked;
      this.recvUnacked = 0;
    }
    if (stream.closed || stream.remoteEnded) return;
    stream.recvUnacked += n;
    if (stream.recvUnacked >= this.options.streamWindow >>> 1) {
      this.windowUpdate(stream.id, stream.recvUnacked);
      stream.recvWindow += stream.recvUnacked;
      stream.recvUnacked = 0;
    }
  }

  /** Sends GOAWAY (graceful: streams already open finish). */
  goaway(code: number = ErrorCode.NO_ERROR, debug = ''): void {
    if (this.goawaySent || this.destroyed) return;
    this.goawaySent = true;
    const payload = Buffer.allocUnsafe(8 + debug.length);
    payload.writeUInt32BE(this.lastPeerStreamId, 0);
    payload.writeUInt32BE(code, 4);
    payload.write(debug, 8, 'latin1');
    this.writer.frame(FrameType.GOAWAY, 0, 0, payload);
  }

  /**
   * The first phase of a graceful shutdown: a GOAWAY with the largest stream id, so clients
   * stop opening streams while those racing with it are still served (then `goaway()`).
   */
  announceShutdown(): void {
    if (this.goawaySent || this.destroyed) return;
    const payload = Buffer.allocUnsafe(8);
    payload.writeUInt32BE(MAX_WINDOW, 0);
    payload.writeUInt32BE(ErrorCode.NO_ERROR, 4);
    this.writer.frame(FrameType.GOAWAY, 0, 0, payload);
  }

  ping(payload: Buffer): void {
    this.writer.frame(FrameType.PING, 0, 0, payload);
  }

  /** Ends the connection gracefully: what is queued (a GOAWAY) is written, then our FIN. */
  end(): void {
    if (this.destroyed) return;
    this.writer.flush();
    this.socket.end();
  }

  /** Closes the connection now; open streams hear onReset(connectionGone). */
  destroy(error: Error | undefined): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.writer.flush();
    for (const stream of this.streams.toArray()) {
      stream.closed = true;
      stream.handler.onReset(stream, ErrorCode.CANCEL, true);
      this.handler.onStreamClosed?.(stream);
    }
    this.streams.clear();
    this.blocked = [];
    if (!this.socket.destroyed) this.socket.destroy();
    this.handler.onClose?.(error);
  }

  /** GOAWAY with `code`, then close (a connection error). */
  private fail(code: ErrorCode, message: string): void {
    this.goaway(code, message);
    this.writer.flush();
    this.socket.end();
    this.destroy(new ConnectionError(code, message));
  }

  private sendHeaderBlock(stream: H2Stream, headers: OutgoingHttpHeaders, endStream: boolean): void {
    const length = encodeHeaders(this.encoder, headers);
    let block = this.encoder.buffer;
    // The encoder reuses its buffer; a block long enough for the writer to queue by reference
    // must be copied before the next block is encoded.
    if (length >= 1024) block = Buffer.from(block.subarray(0, length));
    const max = this.peerMaxFrameSize;
    const flags = endStream ? Flag.END_STREAM : 0;
    if (length <= max) {
      this.writer.frame(FrameType.HEADERS, flags | Flag.END_HEADERS, stream.id, block, 0, length);
    } else {
      this.writer.frame(FrameType.HEADERS, flags, stream.id, block, 0, max);
      for (let at = max; at < length; at += max) {
        const end = Math.min(at + max, length);
        this.writer.frame(FrameType.CONTINUATION, end === length ? Flag.END_HEADERS : 0, stream.id, block, at, end);
      }
    }
    const status = headers[':status'];
    const interim = status !== undefined && Number(status) < 200;
    if (!interim) stream.headersSent = true;
    if (endStream) this.endLocal(stream);
  }

  /** Writes DATA frames for `chunk` from `offset` as the windows allow; returns the new offset. */
  private writeData(stream: H2Stream, chunk: Buffer, offset: number, endStream: boolean): number {
    if (chunk.length === offset) {
      if (endStream) this.writer.frame(FrameType.DATA, Flag.END_STREAM, stream.id, EMPTY);
      return offset;
    }
    while (offset < chunk.length) {
      // Flow control bounds what the peer will accept; the socket's backlog bounds what sits in
      // this process when the peer grants large windows but reads slowly.
      if (this.socket.writableLength + this.writer.queuedBytes > SOCKET_BACKLOG_LIMIT) return offset;
      const room = Math.min(this.sendWindow, stream.sendWindow, this.peerMaxFrameSize);
      if (room <= 0) return offset;
      const end = Math.min(chunk.length, offset + room);
      const last = end === chunk.length;
      this.writer.frame(FrameType.DATA, last && endStream ? Flag.END_STREAM : 0, stream.id, chunk, offset, end);
      this.sendWindow -= end - offset;
      stream.sendWindow -= end - offset;
      offset = end;
    }
    return offset;
  }

  /**
   * Sends what blocked streams can now send, in order. The list is compacted in place; streams
   * that drained on their own WINDOW_UPDATE, or closed, leave it here. (Streams that block while
   * this runs are appended and get their turn in the same pass.)
   */
  private drainBlocked(): void {
    const blocked = this.blocked;
    if (blocked.length === 0) return;
    let kept = 0;
    for (let i = 0; i < blocked.length; i++) {
      if (this.sendWindow <= 0 || this.socket.writableLength > SOCKET_BACKLOG_LIMIT) {
        // The connection's window is spent (or its socket backed up): nobody else can send now;
        // the rest keep their places.
        if (kept === i) return;
        for (; i < blocked.length; i++) blocked[kept++] = blocked[i]!;
        break;
      }
      const stream = blocked[i]!;
      const waiting = !stream.closed && stream.pending !== undefined
        && (stream.sendWindow <= 0 || !this.drainStream(stream));
      if (waiting) blocked[kept++] = stream;
      else stream.inBlocked = false;
    }
    blocked.length = kept;
  }

  /** Sends a blocked stream's queue; true when all of it went. */
  private drainStream(stream: H2Stream): boolean {
    const pending = stream.pending!;
    while (pending.length > 0) {
      const chunk = pending[0]!;
      const isLast = pending.length === 1;
      const end = isLast && stream.pendingEnd && stream.pendingTrailers === undefined;
      const sent = this.writeData(stream, chunk, stream.pendingOffset, end);
      if (sent < chunk.length) {
        stream.pendingOffset = sent;
        return false;
      }
      pending.shift();
      stream.pendingOffset = 0;
    }
    stream.pending = undefined;
    if (stream.pendingEnd) {
      if (stream.pendingTrailers !== undefined) this.sendHeaderBlock(stream, stream.pendingTrailers, true);
      else this.endLocal(stream);
    }
    // Even when that closed the stream: the owner returns the window of what it forwarded here.
    stream.handler.onWritable(stream);
    return true;
  }

  private endLocal(stream: H2Stream): void {
    stream.localEnded = true;
    if (stream.remoteEnded) this.removeStream(stream);
  }

  /** Forgets a stream; a stream that ended on both sides (not reset) is reported complete. */
  private removeStream(stream: H2Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    stream.pending = undefined;
    this.streams.delete(stream);
    if (stream.rstCode === undefined) stream.handler.onComplete?.(stream);
    this.handler.onStreamClosed?.(stream);
  }

  private sendSettings(): void {
    const o = this.options;
    const entries: Array<[number, number]> = [
      [Setting.MAX_CONCURRENT_STREAMS, o.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, o.streamWindow],
      [Setting.MAX_HEADER_LIST_SIZE, o.maxHeaderListSize],
    ];
    if (!this.isServer) entries.push([Setting.ENABLE_PUSH, 0]);
    if (o.maxFrameSize !== undefined && o.maxFrameSize !== DEFAULT_MAX_FRAME_SIZE) entries.push([Setting.MAX_FRAME_SIZE, o.maxFrameSize]);
    const payload = Buffer.allocUnsafe(entries.length * 6);
    entries.forEach(([id, value], i) => {
      payload.writeUInt16BE(id, i * 6);
      payload.writeUInt32BE(value, i * 6 + 2);
    });
    this.writer.frame(FrameType.SETTINGS, 0, 0, payload);
  }

  /**
   * Queues a control frame sent in answer to the peer. A peer that sends them without reading
   * the answers makes them pile up here: past the limit, while the socket is backed up, that
   * is a flood (Envoy's max_outbound_control_frames).
   */
  private controlFrame(type: FrameType, flags: number, streamId: number, payload: Buffer | undefined, start?: number, end?: number): void {
    const max = this.options.maxOutboundControlFrames;
    if (max !== undefined && this.socket.writableLength > 0 && ++this.controlFramesQueued > max) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too many control frames queued for a peer that does not read');
    }
    this.writer.frame(type, flags, streamId, payload, start, end);
  }

  private windowUpdate(streamId: number, increment: number): void {
    this.writer.frame(FrameType.WINDOW_UPDATE, 0, streamId, u32(increment));
  }

  // ---- Reading -------------------------------------------------------------------------

  private onSocketData(chunk: Buffer): void {
    if (this.destroyed) return;
    beginEvent();
    try {
      let from = 0;
      const head = this.buffered;
      if (head !== undefined) {
        // A frame straddles the reads: join only that frame's bytes, then read on in `chunk`
        // itself (copying all of every read behind a partial frame cost a copy per read).
        this.buffered = undefined;
        const take = bytesToFinishFrame(head, chunk);
        const joined = Buffer.concat([head, take === chunk.length ? chunk : chunk.subarray(0, take)]);
        const used = this.readFrames(joined, 0);
        if (this.destroyed) return;
        if (used < joined.length) {
          // Still short of a whole frame (then all of `chunk` was taken).
          this.buffered = joined.subarray(used);
          return;
        }
        from = take;
      }
      const pos = this.readFrames(chunk, from);
      if (this.destroyed) return;
      if (pos < chunk.length) this.buffered = chunk.subarray(pos);
    } catch (err) {
      if (err instanceof ConnectionError) {
        this.fail(err.code, err.message);
        return;
      }
      throw err;
    } finally {
      endEvent();
    }
  }

  /** Reads the whole frames in `buf` from `pos` (the preface first, if owed); returns where the first incomplete one starts. */
  private readFrames(buf: Buffer, pos: number): number {
    if (this.prefaceLeft > 0) {
      const at = CLIENT_PREFACE.length - this.prefaceLeft;
      const n = Math.min(this.prefaceLeft, buf.length - pos);
      if (buf.compare(CLIENT_PREFACE, at, at + n, pos, pos + n) !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'invalid connection preface');
      this.prefaceLeft -= n;
      pos += n;
    }
    while (buf.length - pos >= FRAME_HEADER_LENGTH) {
      const length = (buf[pos]! << 16) | (buf[pos + 1]! << 8) | buf[pos + 2]!;
      if (length > (this.options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE)) {
        throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes exceeds SETTINGS_MAX_FRAME_SIZE`);
      }
      if (buf.length - pos < FRAME_HEADER_LENGTH + length) break;
      const type = buf[pos + 3]!;
      const flags = buf[pos + 4]!;
      const streamId = buf.readUInt32BE(pos + 5) & 0x7fffffff;
      const start = pos + FRAME_HEADER_LENGTH;
      pos = start + length;
      this.onFrame(type, flags, streamId, buf, start, pos);
      if (this.destroyed) return pos;
    }
    return pos;
  }

  private onFrame(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (this.headerStream !== 0 && type !== FrameType.CONTINUATION) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'header block interrupted by another frame');
    }
    if (type <= FrameType.HEADERS || type === FrameType.CONTINUATION) this.countEmptyFrames(type, flags, start, end);
    switch (type) {
      case FrameType.DATA: return this.onData(flags, id, buf, start, end);
      case FrameType.HEADERS: return this.onHeadersFrame(flags, id, buf, start, end);
      case FrameType.CONTINUATION: return this.onContinuation(flags, id, buf, start, end);
      case FrameType.RST_STREAM: return this.onRstStream(id, buf, start, end);
      case FrameType.SETTINGS: return this.onSettings(flags, id, buf, start, end);
      case FrameType.PING: return this.onPing(flags, id, buf, start, end);
      case FrameType.GOAWAY: return this.onGoaway(id, buf, start, end);
      case FrameType.WINDOW_UPDATE: return this.onWindowUpdate(id, buf, start, end);
      case FrameType.PRIORITY:
        if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (end - start !== 5) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY frame of the wrong size');
        if (this.options.maxPriorityFramesPerStream !== undefined && ++this.priorityFrames > this.options.maxPriorityFramesPerStream * (1 + this.streamsOpened)) {
          throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too many PRIORITY frames');
        }
        return;
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE (push is disabled)');
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  private countEmptyFrames(type: number, flags: number, start: number, end: number): void {
    const max = this.options.maxConsecutiveEmptyFrames;
    if (max === undefined) return;
    const endFlag = type === FrameType.CONTINUATION ? Flag.END_HEADERS : Flag.END_STREAM;
    if (end > start || (flags & endFlag) !== 0) {
      this.emptyFrames = 0;
    } else if (++this.emptyFrames > max) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'too many consecutive frames with an empty payload');
    }
  }

  private onData(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    const length = end - start;
    this.recvWindow -= length;
    if (this.recvWindow < 0) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection flow-control window exceeded');
    if (flags & Flag.PADDED) {
      const pad = buf[start]!;
      start += 1;
      end -= pad;
      if (end < start) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'padding longer than the DATA payload');
    }
    const stream = this.streams.get(id);
    if (stream === undefined || stream.remoteEnded) {
      // A stream we reset may still receive what was in flight: give the window back.
      this.consumedConnectionOnly(length);
      if (stream === undefined && id > this.highestKnownStreamId()) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on an idle stream');
      if (stream !== undefined) this.resetStream(stream, ErrorCode.STREAM_CLOSED);
      return;
    }
    stream.recvWindow -= length;
    if (stream.recvWindow < 0) {
      this.consumedConnectionOnly(length);
      this.resetStream(stream, ErrorCode.FLOW_CONTROL_ERROR);
      stream.handler.onReset(stream, ErrorCode.FLOW_CONTROL_ERROR, false);
      return;
    }
    // Padding is consumed at once; the payload when the owner has passed it on.
    const padding = length - (end - start);
    if (padding > 0) this.consumed(stream, padding);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    stream.receivedBytes += end - start;
    if (stream.declaredLength >= 0 && (stream.receivedBytes > stream.declaredLength || (endStream && stream.receivedBytes !== stream.declaredLength))) {
      // A body that contradicts its content-length is malformed (RFC 9113 §8.1.1).
      this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
      stream.handler.onReset(stream, ErrorCode.PROTOCOL_ERROR, false);
      return;
    }
    if (endStream) stream.remoteEnded = true;
    stream.handler.onData(stream, start === 0 && end === buf.length ? buf : buf.subarray(start, end), endStream);
    if (endStream && stream.localEnded) this.removeStream(stream);
  }

  private consumedConnectionOnly(n: number): void {
    this.recvUnacked += n;
    if (this.recvUnacked >= this.options.connectionWindow >>> 1) {
      this.windowUpdate(0, this.recvUnacked);
      this.recvWindow += this.recvUnacked;
      this.recvUnacked = 0;
    }
  }

  private highestKnownStreamId(): number {
    return this.isServer ? this.lastPeerStreamId : this.nextStreamId - 2;
  }

  private onHeadersFrame(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    if (flags & Flag.PADDED) {
      const pad = buf[start]!;
      start += 1;
      end -= pad;
    }
    if (flags & Flag.PRIORITY) start += 5;
    if (end < start) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS padding or priority longer than the frame');
    if (flags & Flag.END_HEADERS) {
      this.onHeaderBlock(id, flags, buf, start, end);
      return;
    }
    this.headerStream = id;
    this.headerFlags = flags;
    this.headerParts = [buf.subarray(start, end)];
    this.headerBytes = end - start;
  }

  private onContinuation(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (this.headerStream === 0 || id !== this.headerStream) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'unexpected CONTINUATION');
    this.headerBytes += end - start;
    // A block may not grow without bound while it is not decoded yet (CONTINUATION flood).
    if (this.headerBytes > this.options.maxHeaderListSize + 65536) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'header block too large');
    }
    this.headerParts.push(buf.subarray(start, end));
    if ((flags & Flag.END_HEADERS) === 0) return;
    const block = Buffer.concat(this.headerParts);
    this.headerParts = [];
    this.headerStream = 0;
    this.onHeaderBlock(id, this.headerFlags, block, 0, block.length);
  }

  private onHeaderBlock(id: number, flags: number, buf: Buffer, start: number, end: number): void {
    let decoded;
    try {
      decoded = this.decoder.decode(buf, start, end, this.decodeLimit);
    } catch (err) {
      if (err instanceof HpackError) throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, err.message);
      throw err;
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    let stream = this.streams.get(id);
    if (stream === undefined) {
      if (!this.isServer || (id & 1) === 0) {
        if (id > this.highestKnownStreamId()) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on idle stream ${id}`);
        return; // a stream we already reset
      }
      if (id <= this.lastPeerStreamId) throw new ConnectionError(ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
      this.lastPeerStreamId = id;
      this.openPeerStream(id, decoded.fields, decoded.count, decoded.overLimit, endStream);
      return;
    }
    if (stream.remoteEnded) {
      this.resetStream(stream, ErrorCode.STREAM_CLOSED);
      return;
    }
    if (decoded.overLimit) {
      this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
      stream.handler.onReset(stream, ErrorCode.PROTOCOL_ERROR, false);
      return;
    }
    const trailers = stream.headersReceived;
    if (trailers && !endStream) {
      this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
      stream.handler.onReset(stream, ErrorCode.PROTOCOL_ERROR, false);
      return;
    }
    const headers = headersFromFields(decoded.fields, decoded.count, trailers ? BlockKind.Trailers : this.isServer ? BlockKind.Request : BlockKind.Response);
    if (typeof headers === 'string') {
      this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
      stream.handler.onReset(stream, ErrorCode.PROTOCOL_ERROR, false);
      return;
    }
    if (!trailers) {
      const status = headers[':status'];
      const interim = status !== undefined && (status as string).charCodeAt(0) === 0x31; /* 1xx */
      if (interim) {
        if (endStream) {
          this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
          stream.handler.onReset(stream, ErrorCode.PROTOCOL_ERROR, false);
        }
        return; // 1xx: not forwarded
      }
      stream.headersReceived = true;
    }
    if (endStream) {
      if (stream.declaredLength >= 0 && stream.receivedBytes !== stream.declaredLength) {
        this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
        stream.handler.onReset(stream, ErrorCode.PROTOCOL_ERROR, false);
        return;
      }
      stream.remoteEnded = true;
    }
    stream.handler.onHeaders(stream, headers, endStream);
    if (endStream && stream.localEnded) this.removeStream(stream);
  }

  private openPeerStream(id: number, fields: readonly string[], count: number, overLimit: boolean, endStream: boolean): void {
    if (this.goawaySent) return this.refuse(id, ErrorCode.REFUSED_STREAM);
    if (this.streams.size >= this.options.maxConcurrentStreams) return this.refuse(id, ErrorCode.REFUSED_STREAM);
    if (overLimit) {
      this.streamsOpened += 1;
      this.handler.onBadRequest?.('header list too large');
      return this.refuse(id, ErrorCode.INTERNAL_ERROR);
    }
    this.streamsOpened += 1;
    if (this.exceedsHeaderLimits(fields, count)) {
      // Envoy's codec fails the header callback; the stream is reset with INTERNAL_ERROR.
      this.handler.onBadRequest?.('header list too large');
      return this.refuse(id, ErrorCode.INTERNAL_ERROR);
    }
    const headers = headersFromFields(fields, count, BlockKind.Request);
    if (typeof headers === 'string') {
      this.handler.onBadRequest?.(headers);
      return this.refuse(id, ErrorCode.PROTOCOL_ERROR);
    }
    const stream = new H2Stream(id, NO_HANDLER, this.peerInitialWindow, this.options.streamWindow);
    stream.connection = this;
    stream.headersReceived = true;
    stream.declaredLength = declaredLength(headers);
    this.streams.add(stream);
    if (endStream) stream.remoteEnded = true;
    this.handler.onStream?.(stream, headers, endStream);
  }

  /** Resets a stream the peer opened that is not taken (it never became a record here). */
  private refuse(id: number, code: ErrorCode): void {
    this.controlFrame(FrameType.RST_STREAM, 0, id, u32(code));
  }

  /** Envoy's header-map limits: field count, and the sum of name and value lengths. */
  private exceedsHeaderLimits(fields: readonly string[], count: number): boolean {
    const { maxHeadersCount, maxHeaderBytes } = this.options;
    if (maxHeadersCount !== undefined && count / 2 > maxHeadersCount) return true;
    if (maxHeaderBytes === undefined) return false;
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += fields[i]!.length;
    return bytes > maxHeaderBytes;
  }

  private onRstStream(id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (end - start !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM of the wrong size');
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id > this.highestKnownStreamId()) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
      return;
    }
    const code = buf.readUInt32BE(start);
    stream.rstCode = code;
    this.removeStream(stream);
    stream.handler.onReset(stream, code, false);
  }

  private onSettings(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & Flag.ACK) {
      if (end !== start) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if ((end - start) % 6 !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS payload not a multiple of 6');
    for (let p = start; p < end; p += 6) {
      const key = buf.readUInt16BE(p);
      const value = buf.readUInt32BE(p + 2);
      switch (key) {
        case Setting.HEADER_TABLE_SIZE: this.encoder.setMaxTableSize(value); break;
        case Setting.ENABLE_PUSH:
          if (value > 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS_ENABLE_PUSH not 0 or 1');
          break;
        case Setting.MAX_CONCURRENT_STREAMS: this.peerMaxConcurrentStreams = value; break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1');
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const s of this.streams.toArray()) s.sendWindow += delta;
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_FRAME_SIZE_LIMIT) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS_MAX_FRAME_SIZE out of range');
          this.peerMaxFrameSize = value;
          break;
        default: break; // MAX_HEADER_LIST_SIZE is advisory; unknown settings are ignored
      }
    }
    this.controlFrame(FrameType.SETTINGS, Flag.ACK, 0, undefined);
    this.drainBlocked();
    const first = !this.gotPeerSettings;
    this.gotPeerSettings = true;
    if (first) this.handler.onRemoteSettings?.();
  }

  private onPing(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
    if (end - start !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PING of the wrong size');
    if (flags & Flag.ACK) {
      this.handler.onPingAck?.(buf.subarray(start, end));
      return;
    }
    this.controlFrame(FrameType.PING, Flag.ACK, 0, buf, start, end);
  }

  private onGoaway(id: number, buf: Buffer, start: number, end: number): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (end - start < 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY too short');
    const last = buf.readUInt32BE(start) & 0x7fffffff;
    const code = buf.readUInt32BE(start + 4);
    this.goawayReceived = last;
    // Streams the peer never processed: safe to retry elsewhere.
    for (const stream of this.streams.toArray()) {
      if (stream.id > last && (stream.id & 1) === (this.isServer ? 0 : 1)) {
        stream.rstCode = ErrorCode.REFUSED_STREAM;
        this.removeStream(stream);
        stream.handler.onReset(stream, ErrorCode.REFUSED_STREAM, false);
      }
    }
    this.handler.onGoaway?.(last, code);
  }

  private onWindowUpdate(id: number, buf: Buffer, start: number, end: number): void {
    if (end - start !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE of the wrong size');
    const increment = buf.readUInt32BE(start) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      this.drainBlocked();
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    if (increment === 0) {
      this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
      stream.handler.onReset(stream, ErrorCode.PROTOCOL_ERROR, false);
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) {
      this.resetStream(stream, ErrorCode.FLOW_CONTROL_ERROR);
      stream.handler.onReset(stream, ErrorCode.FLOW_CONTROL_ERROR, false);
      return;
    }
    // Drained here, the stream leaves the blocked list at the next drainBlocked().
    if (stream.pending !== undefined && this.sendWindow > 0) this.drainStream(stream);
  }
}

/**
 * How many bytes of `next` complete the frame begun in `head` (a partial frame, possibly a
 * partial frame header): all of `next` when that is not enough.
 */
function bytesToFinishFrame(head: Buffer, next: Buffer): number {
  if (head.length + next.length < FRAME_HEADER_LENGTH) return next.length;
  const length = (byteOf(head, next, 0) << 16) | (byteOf(head, next, 1) << 8) | byteOf(head, next, 2);
  return Math.min(next.length, FRAME_HEADER_LENGTH + length - head.length);
}

/** Byte `i` of `head` followed by `next`. */
function byteOf(head: Buffer, next: Buffer, i: number): number {
  return i < head.length ? head[i]! : next[i - head.length]!;
}

function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

function declaredLength(headers: IncomingHttpHeaders): number {
  const cl = headers['content-length'];
  if (cl === undefined) return -1;
  const n = Number(cl);
  return Number.isSafeInteger(n) && n >= 0 ? n : -1;
}

/** Placeholder until the owner sets the real handler in onStream. */
const NO_HANDLER: StreamHandler = {
  onHeaders() {},
  onData() {},
  onReset() {},
  onWritable() {},
};
