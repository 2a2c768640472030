/**
 * Hand-built HTTP/2 on a raw TCP socket, for clients no well-behaved library will
 * be: floods, invalid frames, HPACK abuse, forged headers. Frames are written exactly
 * as given; what the peer answers is parsed and recorded (GOAWAY, RST_STREAM,
 * HEADERS stream ids, bytes), and the peer's SETTINGS are acknowledged so the
 * connection stays up for as long as the peer allows.
 */
import net from 'node:net';
import { CLIENT_PREFACE, FrameType } from '../../src/h2/frames';

// The frame type numbers are RFC 9113's; the proxy's own codec has them too.
export { FrameType } from '../../src/h2/frames';
export const PREFACE = CLIENT_PREFACE;

export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;
export const FLAG_END_HEADERS = 0x4;

/** One frame: 9-byte header then payload. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** SETTINGS payload from [id, value] pairs. */
export function settings(pairs: ReadonlyArray<readonly [number, number]> = []): Buffer {
  const b = Buffer.alloc(pairs.length * 6);
  pairs.forEach(([id, v], i) => {
    b.writeUInt16BE(id, i * 6);
    b.writeUInt32BE(v, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, b);
}

export function rstStream(streamId: number, code = 0x8 /* CANCEL */): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(code);
  return frame(FrameType.RST_STREAM, 0, streamId, b);
}

export function windowUpdate(streamId: number, increment: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(increment);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, b);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1); `first` carries the pattern bits. */
export function hpackInt(value: number, prefixBits: number, first: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

function hpackString(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  return Buffer.concat([hpackInt(b.length, 7, 0), b]);
}

/** A literal header field without indexing, new name (RFC 7541 §6.2.2): no Huffman, bytes as given. */
export function literal(name: string, value: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]);
}

/** A literal header field with incremental indexing, new name (§6.2.1): it enters the dynamic table. */
export function literalIndexed(name: string, value: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x40]), hpackString(name), hpackString(value)]);
}

/** An indexed header field (§6.1): a reference to a static or dynamic table entry. */
export function indexed(index: number): Buffer {
  return hpackInt(index, 7, 0x80);
}

/** A dynamic table size update (§6.3). */
export function tableSizeUpdate(size: number): Buffer {
  return hpackInt(size, 5, 0x20);
}

/** A header block from name/value pairs, in order (duplicates and bad bytes allowed). */
export function headerBlock(pairs: ReadonlyArray<readonly [string, string | Buffer]>): Buffer {
  return Buffer.concat(pairs.map(([n, v]) => literal(n, v)));
}

/** The usual request pseudo-headers for a POST (gRPC shape). */
export function requestPseudo(path: string, authority = 'localhost'): Array<[string, string]> {
  return [[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', authority]];
}

/** What a peer did to a raw connection. */
export interface RawH2Conn {
  readonly socket: net.Socket;
  /** GOAWAY received: error code and last stream id. */
  readonly goaways: ReadonlyArray<{ readonly code: number; readonly lastStreamId: number }>;
  /** RST_STREAM received, by stream id. */
  readonly resets: ReadonlyMap<number, number>;
  /** Streams the peer answered with HEADERS, with the decoded `:status` when the block was a plain literal/indexed one. */
  readonly responses: ReadonlySet<number>;
  /** Bytes received so far. */
  readonly bytesIn: number;
  /** Set once the socket closed (either side). */
  readonly closed: boolean;
  /** Write, swallowing errors (the peer may have hung up: that is often the point). */
  write(b: Buffer): boolean;
  /** Resolves when the socket can take more, closed, or after 1 s (a peer that stopped reading must not hang the attacker). */
  drained(): Promise<void>;
  /** Resolves when closed, or after `ms`. */
  waitClosed(ms: number): Promise<boolean>;
  destroy(): void;
}

/**
 * Connects, sends the preface and `initialSettings`, ACKs the peer's SETTINGS and
 * answers nothing else. `ackSettings: false` leaves the peer's SETTINGS unacknowledged.
 */
export function connectRaw(port: number, initialSettings: ReadonlyArray<readonly [number, number]> = [], ackSettings = true): Promise<RawH2Conn> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const goaways: Array<{ code: number; lastStreamId: number }> = [];
    const resets = new Map<number, number>();
    const responses = new Set<number>();
    let buf: Buffer = Buffer.alloc(0);
    let closed = false;
    let bytesIn = 0;
    const closeWaiters = new Set<() => void>();
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      for (const w of closeWaiters) w();
    });
    socket.on('data', (chunk: Buffer) => {
      bytesIn += chunk.length;
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3]!;
        const flags = buf[4]!;
        const sid = buf.readUInt32BE(5) & 0x7fffffff;
        const p = buf.subarray(9, 9 + len);
        buf = buf.subarray(9 + len);
        if (type === FrameType.SETTINGS && !(flags & FLAG_ACK) && ackSettings) conn.write(frame(FrameType.SETTINGS, FLAG_ACK, 0));
        else if (type === FrameType.GOAWAY && p.length >= 8) goaways.push({ lastStreamId: p.readUInt32BE(0) & 0x7fffffff, code: p.readUInt32BE(4) });
        else if (type === FrameType.RST_STREAM && p.length >= 4) resets.set(sid, p.readUInt32BE(0));
        else if (type === FrameType.HEADERS) responses.add(sid);
      }
    });
    const conn: RawH2Conn = {
      socket,
      goaways,
      resets,
      responses,
      get bytesIn() { return bytesIn; },
      get closed() { return closed; },
      write(b) {
        if (closed || socket.destroyed) return false;
        try {
          return socket.write(b);
        } catch {
          return false;
        }
      },
      drained() {
        if (closed || !socket.writableNeedDrain) return Promise.resolve();
        return new Promise((r) => {
          const timer = setTimeout(() => done(), 1000);
          const done = (): void => {
            clearTimeout(timer);
            socket.off('drain', done);
            closeWaiters.delete(done);
            r();
          };
          socket.once('drain', done);
          closeWaiters.add(done);
        });
      },
      waitClosed(ms) {
        if (closed) return Promise.resolve(true);
        return new Promise((r) => {
          const timer = setTimeout(() => {
            closeWaiters.delete(done);
            r(closed);
          }, ms);
          const done = (): void => {
            clearTimeout(timer);
            r(true);
          };
          closeWaiters.add(done);
        });
      },
      destroy() {
        socket.destroy();
      },
    };
    socket.once('connect', () => {
      socket.write(Buffer.concat([PREFACE, settings(initialSettings)]));
      resolve(conn);
    });
    socket.once('error', reject);
  });
}
