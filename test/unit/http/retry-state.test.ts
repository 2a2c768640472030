import http2 from 'node:http2';
import t from 'tap';
import { RetryState } from '../../../src/http/retry-state';
import type { RetryPolicyModel } from '../../../src/snapshot/model';

function policy(retryOn: string, extra: Partial<RetryPolicyModel> = {}): RetryPolicyModel {
  return {
    retryOn: new Set(retryOn.split(',')), numRetries: 2, perTryTimeoutMs: 0, retriableStatusCodes: new Set([503]),
    backOffBaseMs: 25, backOffMaxMs: 250, previousHosts: false, hostSelectionRetryMaxAttempts: 1, ...extra,
  };
}

t.test('conditions, as Envoy retry_on names them', async (t) => {
  const connect = { kind: 'connection_failure', message: 'x', unprocessed: true } as const;
  const reset = { kind: 'remote_reset', message: 'x', unprocessed: false, h2Code: 2 } as const;
  const refused = { kind: 'remote_reset', message: 'x', unprocessed: true, h2Code: http2.constants.NGHTTP2_REFUSED_STREAM } as const;
  t.ok(new RetryState(policy('connect-failure')).retriesFailure(connect, false));
  t.notOk(new RetryState(policy('connect-failure')).retriesFailure(reset, true));
  t.ok(new RetryState(policy('refused-stream')).retriesFailure(refused, true));
  t.ok(new RetryState(policy('5xx')).retriesFailure(reset, true), '5xx covers resets');
  t.ok(new RetryState(policy('reset-before-request')).retriesFailure(reset, false));
  t.notOk(new RetryState(policy('reset-before-request')).retriesFailure(reset, true));
  t.notOk(new RetryState(policy('5xx')).retriesFailure({ kind: 'overflow', message: 'x', unprocessed: true }, false), 'overflow is never retried');
  const s = new RetryState(policy('gateway-error,retriable-4xx,retriable-status-codes,unavailable,cancelled'));
  t.ok(s.retriesResponse(502, undefined));
  t.notOk(s.retriesResponse(500, undefined), 'gateway-error is 502/503/504 only');
  t.ok(s.retriesResponse(409, undefined));
  t.ok(s.retriesResponse(200, 14), 'trailers-only UNAVAILABLE');
  t.ok(s.retriesResponse(200, 1), 'trailers-only CANCELLED');
  t.notOk(s.retriesResponse(200, 13), 'INTERNAL not in this policy');
  t.ok(s.retriesGrpcStatus(14));
  t.ok(new RetryState(policy('retriable-status-codes')).retriesResponse(503, undefined));
});

t.test('limits and fully jittered back-off', async (t) => {
  const s = new RetryState(policy('5xx'));
  t.equal(s.remaining, 2);
  t.ok(s.consume());
  t.equal(s.backOffMs(0.999), 24, 'first retry: [0, 25) ms');
  t.ok(s.consume());
  t.equal(s.backOffMs(0.999), 74, 'second retry: [0, 75) ms');
  t.notOk(s.consume(), 'num_retries reached');
  const capped = new RetryState(policy('5xx', { numRetries: 10 }));
  for (let i = 0; i < 8; i++) capped.consume();
  t.equal(capped.backOffMs(0.999), 249, 'capped at max_interval (10 × base by default)');
});
