import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { eventEpochNow, eventNow } from '../common/event-clock';
import { flagBit, type ResponseFlag } from './response-flags';

const NO_REQUEST_HEADERS: IncomingHttpHeaders = Object.freeze({});

/**
 * What happened to one request, as Envoy's StreamInfo records it: the single
 * source for access logs and stats. Times are milliseconds relative to `startMs`
 * (performance.now() clock, read once per socket read: common/event-clock), or -1 when the
 * event did not happen.
 */
export class StreamInfo {
  /** Wall-clock start (epoch ms), for %START_TIME%. */
  readonly startEpochMs = eventEpochNow();
  readonly startMs = eventNow();
  protocol: 'HTTP/1.1' | 'HTTP/2' = 'HTTP/2';
  /** Set by the router from the downstream; a shared empty map until then (no object per request). */
  requestHeaders: IncomingHttpHeaders = NO_REQUEST_HEADERS;
  responseHeaders: OutgoingHttpHeaders | undefined;
  responseTrailers: IncomingHttpHeaders | undefined;
  /** Status sent downstream; 0 = no response was started. */
  responseCode = 0;
  responseCodeDetails = '';
  connectionTerminationDetails = '';
  upstreamTransportFailureReason = '';
  responseFlags = 0;
  bytesReceived = 0;
  bytesSent = 0;
  lastDownstreamRxByteMs = -1;
  firstUpstreamRxByteMs = -1;
  lastDownstreamTxByteMs = -1;
  upstreamHost = '';
  upstreamClusterName = '';
  upstreamClusterObservabilityName = '';
  upstreamLocalAddress = '';
  downstreamLocalAddress = '';
  downstreamRemoteAddress = '';
  routeName = '';
  upstreamRequestAttemptCount = 0;
  /** Marked by the health_check filter (Envoy's `healthCheck()`): access logs' not_health_check skips it. */
  healthCheck = false;
  /** gRPC status sent downstream (from trailers, or a trailers-only response), if any. */
  grpcStatus: number | undefined;

  setFlag(flag: ResponseFlag): void {
    this.responseFlags |= flagBit(flag);
  }

  hasFlag(flag: ResponseFlag): boolean {
    return (this.responseFlags & flagBit(flag)) !== 0;
  }

  elapsedMs(): number {
    return eventNow() - this.startMs;
  }
}
