import type { IncomingHttpHeaders } from 'node:http2';

/** Why an upstream exchange failed. */
export type UpstreamFailureKind =
  | 'connection_failure' // could not connect (refused, unreachable, timeout)
  | 'overflow' // circuit breaker / pool limit
  | 'remote_reset' // peer reset the stream
  | 'connection_termination' // the connection went away mid-stream
  | 'protocol_error'
  | 'local_reset';

export interface UpstreamFailure {
  readonly kind: UpstreamFailureKind;
  /** Human text, e.g. "delayed connect error: 111" (Envoy's transport failure reason). */
  readonly message: string;
  /**
   * True when the peer provably never processed the request (connection never
   * established, REFUSED_STREAM, stream above a GOAWAY's last_stream_id): safe to replay.
   */
  readonly unprocessed: boolean;
  /** HTTP/2 RST_STREAM code received, if any. */
  readonly h2Code?: number | undefined;
}

/** Callbacks from an upstream exchange to the router; called at most in this order. */
export interface UpstreamHandler {
  /** The request is on the wire (stream opened / request dispatched). */
  onUpstreamReady(localAddress: string): void;
  onUpstreamHeaders(headers: IncomingHttpHeaders, endStream: boolean): void;
  onUpstreamData(chunk: Buffer): void;
  onUpstreamTrailers(trailers: IncomingHttpHeaders): void;
  /** The response is complete (after any trailers). */
  onUpstreamEnd(): void;
  /** The exchange failed; no further callbacks follow. */
  onUpstreamFailure(failure: UpstreamFailure): void;
}

/** The request side of an upstream exchange, protocol-neutral. */
export interface UpstreamRequest {
  /** Sends the request; callbacks may arrive before this returns. */
  start(): void;
  /** Body bytes; false = wait for onDrain. Only after onUpstreamReady. */
  write(chunk: Buffer): boolean;
  onDrain(cb: () => void): void;
  /** End of the request body. */
  end(): void;
  /** Response flow control (downstream is slow). */
  pause(): void;
  resume(): void;
  /** Abandon the exchange (downstream cancelled, timeout): RST_STREAM(CANCEL) on HTTP/2. */
  cancel(): void;
}
