import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';

/**
 * A request body as the router reads it: the part of node's Readable it uses, so a codec
 * can hand over a Readable (HTTP/1.1) or a lighter object of its own (the frame-level
 * HTTP/2 core). Listeners are called with the body as `this`.
 */
export interface RequestBody {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  once(event: 'end', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
  /** 'end' has been emitted. */
  readonly readableEnded: boolean;
}

/**
 * One downstream request, whatever the codec (HTTP/2 stream or HTTP/1.1 exchange).
 * Headers are always in HTTP/2 form (lower-case, with :method/:path/:authority/:scheme),
 * so the router never branches on protocol (as undici's protocol contexts do).
 */
export interface Downstream {
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  readonly headers: IncomingHttpHeaders;
  /** Request body; emits 'data' and 'end'. */
  readonly body: RequestBody;
  readonly localAddress: string;
  readonly remoteAddress: string;
  /** `host:port` the connection was originally going to, when original_dst restored it; else undefined. */
  readonly originalDst: string | undefined;
  /** True once response headers were sent. */
  readonly headersSent: boolean;
  /** True once the exchange is over (completed, reset, or the connection went away). */
  readonly closed: boolean;
  /**
   * Sends response headers. `endStream`: no body follows (trailers-only gRPC, HEAD, 204...).
   * `expectTrailers`: keep the stream open for trailers after the body (gRPC).
   */
  respond(headers: OutgoingHttpHeaders, endStream: boolean, expectTrailers: boolean): void;
  /** Writes body bytes; false means wait for onDrain. */
  write(chunk: Buffer): boolean;
  onDrain(cb: () => void): void;
  /** Ends the response, with trailers if any. */
  end(trailers: OutgoingHttpHeaders | undefined): void;
  /** Aborts the exchange (RST_STREAM for HTTP/2, connection close for HTTP/1.1). */
  reset(h2Code: number): void;
  /**
   * False when the request body ended shorter or longer than its content-length said: the
   * request is malformed and must not be completed upstream. Absent: the codec checks it.
   */
  bodyMatchesContentLength?(): boolean;
  /** Called once when the exchange ends; `remoteReset` when the client cancelled or went away early. */
  onClose(listener: DownstreamCloseListener): void;
}

/** Told once when the exchange ends (an object, not a callback, so no closure per request). */
export interface DownstreamCloseListener {
  /** `remoteReset`: the client cancelled or went away early; `connectionGone`: with its connection. */
  onDownstreamClose(remoteReset: boolean, connectionGone: boolean): void;
}
