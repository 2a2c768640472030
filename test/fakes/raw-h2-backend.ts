/**
 * A bare node:http2 h2c server for protocol edge cases that a real gRPC library
 * would hide or refuse to produce: GOAWAY after N streams or on demand, refused
 * connections, RST_STREAM, trailers-only replies, delays, and a log of every
 * request header block exactly as received (pseudo-headers included).
 *
 * The default handler answers gRPC requests by echoing each request message back
 * (helloworld.HelloRequest and HelloReply, or Dubbo's GreeterRequest and
 * GreeterReply, are byte-identical, so an echo is a valid reply), steered by
 * request headers:
 *
 * | header | effect |
 * |---|---|
 * | `x-raw-delay-ms: N` | wait N ms before answering |
 * | `x-raw-grpc-status: N`, `x-raw-grpc-message: text` | finish with that status (default 0) |
 * | `x-raw-trailers-only: 1` | no body: one HEADERS frame carrying the status |
 * | `x-raw-rst: N` | answer nothing, reset the stream with HTTP/2 error code N |
 *
 * Non-gRPC requests get `200` and a JSON body `{ backend, streamId, headers, bodyBytes }`.
 * Every response carries `x-backend-name` and `x-raw-stream-id`.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { frameMessage, percentEncodeGrpcMessage, unframeMessages } from './grpc-frame';
import { hostPort, listenOn } from './listen';

/** What a stream handler knows besides the stream itself. */
export interface RawStreamContext {
  /** The backend's name. */
  readonly backend: string;
  /** 1-based number of the connection (session) the stream arrived on. */
  readonly sessionNumber: number;
  /** 1-based number of the stream on its session (1, 2, 3 … whatever the stream ids are). */
  readonly streamNumber: number;
}

/** Handles one request stream; must eventually answer or reset it. */
export type RawStreamHandler = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  context: RawStreamContext,
) => void;

/** Options of {@link startRawH2Backend}. */
export interface RawH2BackendOptions {
  /** Name used in `x-backend-name` and JSON replies; default `'raw'`. */
  readonly name?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Default `'127.0.0.1'`. */
  readonly host?: string;
  /** SETTINGS sent to every client, e.g. `{ maxConcurrentStreams: 1 }`. */
  readonly settings?: http2.Settings;
  /** Send GOAWAY(NO_ERROR) on a connection right after its N-th stream arrives (that stream is still served). */
  readonly goawayAfterStreams?: number;
  /** Replaces the default handler (see the module comment). */
  readonly handler?: RawStreamHandler;
}

/** A running raw HTTP/2 backend. */
export interface RawH2Backend {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `host:port`. */
  readonly address: string;
  /** Request streams received, all connections together. */
  readonly streams: number;
  /** Connections accepted (refused ones not included). */
  readonly sessions: number;
  /** Connections currently open. */
  readonly activeSessions: number;
  /** Every request header block received, in arrival order (pseudo-headers included). A live array. */
  readonly headersLog: readonly http2.IncomingHttpHeaders[];
  /** The last request header block received, if any. */
  readonly lastHeaders: http2.IncomingHttpHeaders | undefined;
  /** Swap the stream handler; `undefined` restores the default one. */
  setHandler(handler: RawStreamHandler | undefined): void;
  /** Change the GOAWAY-after-N-streams rule for streams arriving from now on (`undefined` = never). */
  setGoawayAfterStreams(count: number | undefined): void;
  /** Send GOAWAY on every open connection now, last-stream-id = the highest stream id seen on it; default code NO_ERROR. */
  goaway(code?: number): void;
  /** While on, new TCP connections are reset at once. */
  refuseConnections(refuse: boolean): void;
  /** Zero `streams`, `sessions` and empty `headersLog`. */
  resetCounters(): void;
  /** Resolve once `streams >= count`; reject after `timeoutMs` (default 5000). */
  waitForStreams(count: number, timeoutMs?: number): Promise<void>;
  /** Graceful: stop listening, GOAWAY every connection, wait up to `graceMs` (default 1000) for them to close, then reset the rest. */
  stop(graceMs?: number): Promise<void>;
  /** Abrupt: stop listening and reset every TCP connection now (no GOAWAY). */
  kill(): void;
}

/** Start a raw HTTP/2 backend; resolves once it is listening. */
export async function startRawH2Backend(options: RawH2BackendOptions = {}): Promise<RawH2Backend> {
  const name = options.name ?? 'raw';
  const host = options.host ?? '127.0.0.1';
  let handler: RawStreamHandler = options.handler ?? defaultRawHandler;
  let goawayAfter = options.goawayAfterStreams;
  let refusing = false;
  let streams = 0;
  let sessionCount = 0;
  const headersLog: http2.IncomingHttpHeaders[] = [];
  const sockets = new Set<net.Socket>();
  const sessions = new Map<http2.ServerHttp2Session, { lastStreamId: number; streams: number }>();
  const streamWaiters = new Set<() => void>();

  const h2 = http2.createServer(options.settings !== undefined ? { settings: options.settings } : {});
  h2.on('session', (session) => {
    sessionCount++;
    const sessionNumber = sessionCount;
    const state = { lastStreamId: 0, streams: 0 };
    sessions.set(session, state);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined);
    session.on('stream', (stream, headers) => {
      streams++;
      state.streams++;
      state.lastStreamId = Math.max(state.lastStreamId, stream.id ?? 0);
      headersLog.push(headers);
      stream.on('error', () => undefined);
      for (const wake of streamWaiters) wake();
      if (goawayAfter !== undefined && state.streams === goawayAfter && !session.closed && !session.destroyed) {
        session.goaway(http2.constants.NGHTTP2_NO_ERROR, state.lastStreamId);
      }
      handler(stream, headers, { backend: name, sessionNumber, streamNumber: state.streams });
    });
  });

  const listener = net.createServer((socket) => {
    if (refusing) {
      socket.resetAndDestroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    h2.emit('connection', socket);
  });
  const port = await listenOn(listener, options.port ?? 0, host);
  const closed = new Promise<void>((resolve) => listener.on('close', () => resolve()));

  const goawayAll = (code: number = http2.constants.NGHTTP2_NO_ERROR): void => {
    for (const [session, state] of sessions) {
      if (!session.closed && !session.destroyed) session.goaway(code, state.lastStreamId);
    }
  };
  const resetAll = (): void => {
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
  };

  return {
    name,
    host,
    port,
    address: hostPort(host, port),
    get streams() {
      return streams;
    },
    get sessions() {
      return sessionCount;
    },
    get activeSessions() {
      return sockets.size;
    },
    headersLog,
    get lastHeaders() {
      return headersLog[headersLog.length - 1];
    },
    setHandler: (next) => {
      handler = next ?? defaultRawHandler;
    },
    setGoawayAfterStreams: (count) => {
      goawayAfter = count;
    },
    goaway: goawayAll,
    refuseConnections: (refuse) => {
      refusing = refuse;
    },
    resetCounters: () => {
      streams = 0;
      sessionCount = 0;
      headersLog.length = 0;
    },
    waitForStreams: (count, timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        if (streams >= count) return resolve();
        const timer = setTimeout(() => {
          streamWaiters.delete(check);
          reject(new Error(`raw backend ${name}: saw ${streams} of ${count} streams within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = (): void => {
          if (streams < count) return;
          clearTimeout(timer);
          streamWaiters.delete(check);
          resolve();
        };
        streamWaiters.add(check);
      }),
    stop: async (graceMs = 1000) => {
      if (listener.listening) listener.close();
      for (const session of sessions.keys()) if (!session.closed) session.close();
      const deadline = Date.now() + graceMs;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      resetAll();
      await closed;
    },
    kill: () => {
      if (listener.listening) listener.close();
      resetAll();
    },
  };
}

// === gRPC reply helpers (usable from custom handlers) ===

/** Read a request body to the end. */
export function readBody(stream: http2.ServerHttp2Stream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** How a gRPC reply ends and what extra metadata it carries. */
export interface GrpcReplyOptions {
  /** grpc-status; default 0. */
  readonly status?: number;
  /** grpc-message (percent-encoded on the wire). */
  readonly message?: string;
  /** Extra response headers. */
  readonly headers?: http2.OutgoingHttpHeaders;
  /** Extra trailers. */
  readonly trailers?: http2.OutgoingHttpHeaders;
}

/** Answer with `:status 200`, the given messages (each framed) and trailers carrying the status. */
export function respondGrpc(stream: http2.ServerHttp2Stream, messages: readonly Uint8Array[], options: GrpcReplyOptions = {}): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond(
    { ':status': 200, 'content-type': 'application/grpc', ...options.headers },
    { waitForTrailers: true },
  );
  stream.on('wantTrailers', () => stream.sendTrailers({ ...statusHeaders(options), ...options.trailers }));
  stream.end(Buffer.concat(messages.map((m) => frameMessage(m))));
}

/** Answer trailers-only: a single HEADERS frame with `:status 200`, the gRPC status and END_STREAM. */
export function respondGrpcTrailersOnly(stream: http2.ServerHttp2Stream, options: GrpcReplyOptions = {}): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond(
    { ':status': 200, 'content-type': 'application/grpc', ...statusHeaders(options), ...options.headers, ...options.trailers },
    { endStream: true },
  );
}

function statusHeaders(options: GrpcReplyOptions): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = { 'grpc-status': String(options.status ?? 0) };
  if (options.message !== undefined && options.message !== '') out['grpc-message'] = percentEncodeGrpcMessage(options.message);
  return out;
}


/** The default handler described in the module comment; exported so custom handlers can fall back to it. */
export const defaultRawHandler: RawStreamHandler = (stream, headers, context) => {
  const tag = { 'x-backend-name': context.backend, 'x-raw-stream-id': String(stream.id ?? 0) };
  const rst = headerNumber(headers, 'x-raw-rst');
  const delayMs = headerNumber(headers, 'x-raw-delay-ms') ?? 0;
  void readBody(stream)
    .then(async (body) => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      if (stream.destroyed || stream.closed) return;
      if (rst !== undefined) {
        stream.close(rst);
        return;
      }
      const contentType = String(headers['content-type'] ?? '');
      if (!contentType.startsWith('application/grpc')) {
        stream.respond({ ':status': 200, 'content-type': 'application/json', ...tag });
        stream.end(JSON.stringify({ backend: context.backend, streamId: stream.id, headers, bodyBytes: body.length }));
        return;
      }
      const reply: GrpcReplyOptions = {
        status: headerNumber(headers, 'x-raw-grpc-status') ?? 0,
        message: headerString(headers, 'x-raw-grpc-message') ?? '',
        headers: tag,
      };
      if (headers['x-raw-trailers-only'] === '1') respondGrpcTrailersOnly(stream, reply);
      else respondGrpc(stream, unframeMessages(body).map((f) => f.message), reply);
    })
    .catch(() => {
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    });
};

function headerString(headers: http2.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function headerNumber(headers: http2.IncomingHttpHeaders, name: string): number | undefined {
  const value = headerString(headers, name);
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
