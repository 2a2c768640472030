import type { DecodeContext, ProtoObj } from '../xds/resources/decode-context';
import { decodeHeaderMatcher } from '../xds/resources/route-config';
import { RESPONSE_FLAGS, type ResponseFlag } from '../http/response-flags';
import type { AccessLogFilterModel } from './filter-model';

const GRPC_STATUS_NAMES = ['OK', 'CANCELED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
const DENOMINATORS: Record<string, number> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

/** Decodes `config.accesslog.v3.AccessLogFilter` (the proto decoder has already checked its shape). */
export function decodeAccessLogFilter(f: ProtoObj, path: string, ctx: DecodeContext): AccessLogFilterModel | undefined {
  if (f.status_code_filter || f.duration_filter) {
    const kind = f.status_code_filter ? 'status_code' : 'duration';
    const c = (f.status_code_filter ?? f.duration_filter).comparison ?? {};
    return { kind, op: String(c.op ?? 'EQ') as 'EQ', value: Number(c.value?.default_value ?? 0) };
  }
  if (f.not_health_check_filter) return { kind: 'not_health_check' };
  if (f.traceable_filter) return { kind: 'traceable' };
  if (f.runtime_filter) {
    const p = f.runtime_filter.percent_sampled ?? {};
    // No runtime overrides in Legate: the configured default fraction applies.
    return { kind: 'runtime', fraction: Number(p.numerator ?? 0) / (DENOMINATORS[String(p.denominator ?? 'HUNDRED')] ?? 100) };
  }
  if (f.and_filter || f.or_filter) {
    const kind = f.and_filter ? 'and' : 'or';
    const list: ProtoObj[] = (f.and_filter ?? f.or_filter).filters ?? [];
    const filters: AccessLogFilterModel[] = [];
    list.forEach((sub, i) => {
      const m = decodeAccessLogFilter(sub, `${path}.${kind}_filter.filters[${i}]`, ctx);
      if (m) filters.push(m);
    });
    return { kind, filters };
  }
  if (f.header_filter) return { kind: 'header', matcher: decodeHeaderMatcher(f.header_filter.header ?? {}, `${path}.header_filter.header`, ctx) };
  if (f.response_flag_filter) {
    const known = new Set<string>(RESPONSE_FLAGS.map(([s]) => s));
    const flags = (f.response_flag_filter.flags ?? []).map(String);
    flags.forEach((fl: string, i: number) => { if (!known.has(fl)) ctx.error(`${path}.response_flag_filter.flags[${i}]`, `unknown response flag "${fl}"`); });
    return { kind: 'response_flag', flags: flags as ResponseFlag[] };
  }
  if (f.grpc_status_filter) {
    const statuses = (f.grpc_status_filter.statuses ?? []).map((s: string) => GRPC_STATUS_NAMES.indexOf(String(s)));
    return { kind: 'grpc_status', statuses, exclude: f.grpc_status_filter.exclude === true };
  }
  const other = ['extension_filter', 'metadata_filter', 'log_type_filter'].find((k) => f[k] !== undefined);
  ctx.error(other ? `${path}.${other}` : path, `${other ?? 'this'} access log filter is not supported yet`);
  return undefined;
}
