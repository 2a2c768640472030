/**
 * The HTTP filter chain ahead of the router, modelled on Envoy's (envoy/http/filter.h): decoder
 * filters see the request headers in config order and may take the stream over (answer it
 * themselves); encoder filters see the response headers in reverse order, whoever produced them
 * (the upstream, the router's local replies, a filter). The router stays the terminal step.
 *
 * Cheap per request: a chain is compiled once per HCM ({@link compileFilterChain}); filters keep
 * what a request needs on its {@link StreamInfo} and allocate nothing when they do not match.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { LocalReply } from '../local-reply';
import type { StreamInfo } from '../stream-info';

/** Envoy's FilterHeadersStatus, reduced to the two outcomes Legate's filters use. */
export type FilterHeadersStatus = 'continue' | 'stop';

/** What a filter sees of one stream (implemented by the router stream). */
export interface FilterStream {
  readonly info: StreamInfo;
  readonly requestHeaders: IncomingHttpHeaders;
  /** Calls `cb` once the whole request (body and trailers) has been received; at once if it has. */
  onRequestComplete(cb: () => void): void;
  /** Answers the stream locally (Envoy's sendLocalReply); `headers` are added to the response. */
  sendLocalReply(reply: LocalReply, headers?: OutgoingHttpHeaders): void;
}

export interface HttpFilter {
  readonly name: string;
  /**
   * Request headers, before routing. `stop`: the filter owns the stream from now on and will
   * answer it (the router never sees it).
   */
  decodeHeaders?(stream: FilterStream): FilterHeadersStatus;
  /** Response headers, just before they go downstream; the filter may change them in place. */
  encodeHeaders?(stream: FilterStream, headers: OutgoingHttpHeaders): void;
  /** The HCM that owns this filter was retired (timers off). */
  destroy?(): void;
}

/** One HCM's compiled filters. Empty arrays when the chain is only the router (the common case). */
export interface HttpFilterChain {
  readonly decoders: readonly HttpFilter[];
  /** Reverse config order, as Envoy runs encoders. */
  readonly encoders: readonly HttpFilter[];
  destroy(): void;
}

export const EMPTY_FILTER_CHAIN: HttpFilterChain = { decoders: [], encoders: [], destroy: () => undefined };
