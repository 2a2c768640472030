import { compileHeaderMatcher } from '../router/matchers';
import { httpToGrpcStatus } from '../http/grpc';
import { flagBit } from '../http/response-flags';
import type { StreamInfo } from '../http/stream-info';
import type { AccessLogFilterModel } from './filter-model';

export type AccessLogPredicate = (s: StreamInfo) => boolean;

/** Compiles a filter once; evaluating it per request builds nothing. */
export function compileAccessLogFilter(f: AccessLogFilterModel): AccessLogPredicate {
  switch (f.kind) {
    case 'status_code':
      return comparison(f.op, f.value, (s) => s.responseCode);
    case 'duration':
      return comparison(f.op, f.value, (s) => Math.floor(s.lastDownstreamTxByteMs >= 0 ? s.lastDownstreamTxByteMs : s.elapsedMs()));
    case 'not_health_check':
      // Requests the health_check HTTP filter marked.
      return (s) => !s.healthCheck;
    case 'traceable':
      // No tracing: no request is traced.
      return () => false;
    case 'runtime': {
      const fraction = f.fraction;
      return () => Math.random() < fraction;
    }
    case 'and': {
      const subs = f.filters.map(compileAccessLogFilter);
      return (s) => subs.every((p) => p(s));
    }
    case 'or': {
      const subs = f.filters.map(compileAccessLogFilter);
      return (s) => subs.some((p) => p(s));
    }
    case 'header': {
      const m = compileHeaderMatcher(f.matcher);
      return (s) => m(s.requestHeaders);
    }
    case 'response_flag': {
      if (f.flags.length === 0) return (s) => s.responseFlags !== 0;
      const mask = f.flags.reduce((m, fl) => m | flagBit(fl), 0);
      return (s) => (s.responseFlags & mask) !== 0;
    }
    case 'grpc_status': {
      const set = new Set(f.statuses);
      const exclude = f.exclude;
      return (s) => {
        // Envoy's order: grpc-status from trailers, then headers, else inferred from HTTP status.
        const status = s.grpcStatus ?? (s.responseCode ? httpToGrpcStatus(s.responseCode) : 2);
        return set.has(status) !== exclude;
      };
    }
  }
}

function comparison(op: 'EQ' | 'GE' | 'LE', value: number, get: (s: StreamInfo) => number): AccessLogPredicate {
  if (op === 'GE') return (s) => get(s) >= value;
  if (op === 'LE') return (s) => get(s) <= value;
  return (s) => get(s) === value;
}
