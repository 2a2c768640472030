/**
 * Envoy access-log format strings compiled once into an array of parts; rendering a
 * line is a loop over prebuilt getters (Envoy's substitution_formatter, pino's
 * ahead-of-time work). Unknown operators are configuration errors.
 */
import { hostname } from 'node:os';
import { formatResponseFlags } from '../http/response-flags';
import type { StreamInfo } from '../http/stream-info';
import { formatStartTime, compileStartTime } from './start-time';

type Getter = (s: StreamInfo) => string | number | undefined;

const GRPC_NAMES = ['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated'];
const GRPC_SNAKE = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

const ms = (v: number): number | undefined => (v < 0 ? undefined : Math.floor(v));
const withoutPort = (a: string): string => {
  if (a.startsWith('[')) return a.slice(1, a.indexOf(']'));
  const c = a.lastIndexOf(':');
  return c > 0 && a.indexOf(':') === c ? a.slice(0, c) : a;
};
const HOSTNAME = hostname();

const SIMPLE: Record<string, Getter> = {
  PROTOCOL: (s) => s.protocol,
  RESPONSE_CODE: (s) => s.responseCode,
  RESPONSE_CODE_DETAILS: (s) => s.responseCodeDetails || undefined,
  CONNECTION_TERMINATION_DETAILS: (s) => s.connectionTerminationDetails || undefined,
  UPSTREAM_TRANSPORT_FAILURE_REASON: (s) => s.upstreamTransportFailureReason || undefined,
  RESPONSE_FLAGS: (s) => formatResponseFlags(s.responseFlags),
  RESPONSE_FLAGS_LONG: (s) => formatResponseFlags(s.responseFlags, true),
  BYTES_RECEIVED: (s) => s.bytesReceived,
  BYTES_SENT: (s) => s.bytesSent,
  DURATION: (s) => ms(s.lastDownstreamTxByteMs >= 0 ? s.lastDownstreamTxByteMs : s.elapsedMs()),
  REQUEST_DURATION: (s) => ms(s.lastDownstreamRxByteMs),
  RESPONSE_DURATION: (s) => ms(s.firstUpstreamRxByteMs),
  RESPONSE_TX_DURATION: (s) => (s.firstUpstreamRxByteMs < 0 || s.lastDownstreamTxByteMs < 0 ? undefined : Math.floor(s.lastDownstreamTxByteMs - s.firstUpstreamRxByteMs)),
  UPSTREAM_HOST: (s) => s.upstreamHost || undefined,
  UPSTREAM_REMOTE_ADDRESS: (s) => s.upstreamHost || undefined,
  UPSTREAM_CLUSTER: (s) => s.upstreamClusterObservabilityName || undefined,
  UPSTREAM_CLUSTER_RAW: (s) => s.upstreamClusterName || undefined,
  UPSTREAM_LOCAL_ADDRESS: (s) => s.upstreamLocalAddress || undefined,
  UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (s) => (s.upstreamLocalAddress ? withoutPort(s.upstreamLocalAddress) : undefined),
  DOWNSTREAM_LOCAL_ADDRESS: (s) => s.downstreamLocalAddress || undefined,
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (s) => (s.downstreamLocalAddress ? withoutPort(s.downstreamLocalAddress) : undefined),
  DOWNSTREAM_REMOTE_ADDRESS: (s) => s.downstreamRemoteAddress || undefined,
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (s) => (s.downstreamRemoteAddress ? withoutPort(s.downstreamRemoteAddress) : undefined),
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: (s) => s.downstreamRemoteAddress || undefined,
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: (s) => (s.downstreamRemoteAddress ? withoutPort(s.downstreamRemoteAddress) : undefined),
  REQUESTED_SERVER_NAME: () => undefined,
  ROUTE_NAME: (s) => s.routeName || undefined,
  GRPC_STATUS_NUMBER: (s) => s.grpcStatus,
  HOSTNAME: () => HOSTNAME,
  UPSTREAM_REQUEST_ATTEMPT_COUNT: (s) => s.upstreamRequestAttemptCount,
};

export interface CompiledFormat {
  render(s: StreamInfo): string;
}

/** Compiles a text format; throws an Error naming the bad operator. */
export function compileTextFormat(format: string): CompiledFormat {
  const parts: Array<string | Getter> = [];
  const re = /%([A-Z_0-9]+)(?:\(([^)]*)\))?(?::(\d+))?%/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(format))) {
    if (m.index > last) parts.push(format.slice(last, m.index));
    parts.push(compileOperator(m[1]!, m[2], m[3] === undefined ? undefined : Number(m[3])));
    last = re.lastIndex;
  }
  if (last < format.length) parts.push(format.slice(last));
  // %% is a literal percent sign.
  const fixed = parts.map((p) => (typeof p === 'string' ? p.replace(/%%/g, '%') : p));
  return {
    render(s) {
      let out = '';
      for (const p of fixed) {
        if (typeof p === 'string') out += p;
        else {
          const v = p(s);
          out += v === undefined || v === '' ? '-' : String(v);
        }
      }
      return out;
    },
  };
}

export function compileOperator(name: string, arg: string | undefined, maxLen: number | undefined): Getter {
  let g: Getter;
  if (name === 'START_TIME') {
    g = arg ? compileStartTime(arg) : (s) => formatStartTime(s.startEpochMs);
  } else if (name === 'REQ' || name === 'RESP' || name === 'TRAILER') {
    if (!arg) throw new Error(`%${name}%: a header name is required, e.g. %${name}(x-request-id)%`);
    const [main, alt] = arg.toLowerCase().split('?') as [string, string | undefined];
    const pick = name === 'REQ' ? (s: StreamInfo) => s.requestHeaders : name === 'RESP' ? (s: StreamInfo) => s.responseHeaders : (s: StreamInfo) => s.responseTrailers;
    g = (s) => {
      const h = pick(s) as Record<string, unknown> | undefined;
      if (!h) return undefined;
      let v = h[main];
      if (v === undefined && alt) v = h[alt];
      if (v === undefined) return undefined;
      return sanitize(Array.isArray(v) ? v.join(',') : String(v));
    };
  } else if (name === 'GRPC_STATUS') {
    const mode = (arg ?? 'CAMEL_STRING').toUpperCase();
    if (!['CAMEL_STRING', 'SNAKE_STRING', 'NUMBER'].includes(mode)) throw new Error(`%GRPC_STATUS(${arg})%: expected CAMEL_STRING, SNAKE_STRING or NUMBER`);
    g = (s) => {
      const c = s.grpcStatus;
      if (c === undefined) return undefined;
      if (mode === 'NUMBER') return c;
      return (mode === 'SNAKE_STRING' ? GRPC_SNAKE : GRPC_NAMES)[c] ?? c;
    };
  } else {
    const simple = SIMPLE[name];
    if (!simple) throw new Error(`unknown access log command operator %${name}%`);
    g = simple;
  }
  if (maxLen === undefined) return g;
  return (s) => {
    const v = g(s);
    return typeof v === 'string' && v.length > maxLen ? v.slice(0, maxLen) : v;
  };
}

/** Header values cannot inject new log lines: control characters are escaped. */
function sanitize(v: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f]/.test(v) ? v.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) : v;
}
