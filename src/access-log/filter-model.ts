import type { HeaderMatcherModel } from '../snapshot/model';
import type { ResponseFlag } from '../http/response-flags';

/** `config.accesslog.v3.AccessLogFilter`, decoded. */
export type AccessLogFilterModel =
  | { readonly kind: 'status_code' | 'duration'; readonly op: 'EQ' | 'GE' | 'LE'; readonly value: number }
  | { readonly kind: 'not_health_check' }
  | { readonly kind: 'traceable' }
  | { readonly kind: 'runtime'; readonly fraction: number }
  | { readonly kind: 'and' | 'or'; readonly filters: readonly AccessLogFilterModel[] }
  | { readonly kind: 'header'; readonly matcher: HeaderMatcherModel }
  | { readonly kind: 'response_flag'; readonly flags: readonly ResponseFlag[] }
  | { readonly kind: 'grpc_status'; readonly statuses: readonly number[]; readonly exclude: boolean };
