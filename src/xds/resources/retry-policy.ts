import type { RetryPolicyModel } from '../../snapshot/model';
import { durationMs, type DecodeContext, type ProtoObj } from './decode-context';

/** retry_on conditions Legate implements (router_filter.rst "x-envoy-retry-on", "x-envoy-retry-grpc-on"). */
const SUPPORTED = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'retriable-4xx', 'refused-stream',
  'retriable-status-codes', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);
/** Conditions that only matter with features Legate lacks; accepted, never true. */
const NEVER = new Set(['envoy-ratelimited', 'http3-post-connect-failure']);

/** Decodes `config.route.v3.RetryPolicy` (route or virtual host). */
export function decodeRetryPolicy(p: ProtoObj, path: string, ctx: DecodeContext): RetryPolicyModel {
  const retryOn = new Set<string>();
  for (const raw of String(p.retry_on ?? '').split(',')) {
    const c = raw.trim();
    if (!c) continue;
    if (SUPPORTED.has(c)) retryOn.add(c);
    else if (NEVER.has(c)) continue;
    else if (c === 'retriable-headers') ctx.error(`${path}.retry_on`, 'retry_on "retriable-headers" is not supported yet');
    else ctx.error(`${path}.retry_on`, `unknown retry_on condition "${c}"`);
  }
  if (p.retriable_headers?.length) ctx.error(`${path}.retriable_headers`, 'retriable_headers are not supported yet');
  if (p.retriable_request_headers?.length) ctx.error(`${path}.retriable_request_headers`, 'retriable_request_headers are not supported yet');
  if (p.retry_priority) ctx.error(`${path}.retry_priority`, 'retry priority plugins are not supported yet');
  if (p.rate_limited_retry_back_off) ctx.warn(`${path}.rate_limited_retry_back_off`, 'has no effect: Legate never sees rate-limited responses as retriable');
  let previousHosts = false;
  (p.retry_host_predicate ?? []).forEach((h: ProtoObj, i: number) => {
    const type = String(h.typed_config?.['@type'] ?? '');
    if (h.name === 'envoy.retry_host_predicates.previous_hosts' || type.endsWith('PreviousHostsPredicate')) previousHosts = true;
    else ctx.error(`${path}.retry_host_predicate[${i}]`, `retry host predicate "${h.name ?? type}" is not supported (supported: envoy.retry_host_predicates.previous_hosts)`);
  });
  const baseMs = durationMs(p.retry_back_off?.base_interval, 25);
  if (baseMs <= 0) ctx.error(`${path}.retry_back_off.base_interval`, 'must be greater than 0');
  const maxMs = durationMs(p.retry_back_off?.max_interval, baseMs * 10);
  if (maxMs < baseMs) ctx.error(`${path}.retry_back_off.max_interval`, 'must be at least base_interval');
  return {
    retryOn,
    // Envoy: num_retries defaults to 1 when a retry policy is present.
    numRetries: Number(p.num_retries ?? 1),
    perTryTimeoutMs: durationMs(p.per_try_timeout, 0),
    retriableStatusCodes: new Set<number>((p.retriable_status_codes ?? []).map(Number)),
    backOffBaseMs: baseMs,
    backOffMaxMs: maxMs,
    previousHosts,
    hostSelectionRetryMaxAttempts: Number(p.host_selection_retry_max_attempts ?? 1),
  };
}
