/**
 * Envoy's retry decisions for one request (router/retry_state_impl.cc): which outcomes a
 * route's retry_policy retries, how many retries are left, the jittered back-off, and which
 * hosts were tried (for the previous_hosts predicate).
 *
 * gRPC conditions are read from a trailers-only response's headers, as Envoy does, and also
 * from trailers (Envoy only looks at headers; see docs/compat.md).
 */
import { ErrorCode } from '../h2/frames';
import type { RetryPolicyModel } from '../snapshot/model';
import type { Host } from '../upstream/host';
import type { UpstreamFailure } from '../upstream/upstream-request';

const GRPC_CONDITIONS: ReadonlyArray<[string, number]> = [
  ['cancelled', 1], ['deadline-exceeded', 4], ['resource-exhausted', 8], ['internal', 13], ['unavailable', 14],
];

/** The gRPC statuses a policy retries, worked out once per policy (a RetryState is per request). */
const grpcCodesByPolicy = new WeakMap<RetryPolicyModel, ReadonlySet<number>>();

function grpcCodesOf(policy: RetryPolicyModel): ReadonlySet<number> {
  let codes = grpcCodesByPolicy.get(policy);
  if (codes === undefined) {
    const set = new Set<number>();
    for (const [name, code] of GRPC_CONDITIONS) if (policy.retryOn.has(name)) set.add(code);
    codes = set;
    grpcCodesByPolicy.set(policy, codes);
  }
  return codes;
}

export class RetryState {
  private left: number;
  private readonly grpcCodes: ReadonlySet<number>;
  /** Hosts already tried, kept only for the previous_hosts predicate (created on first use). */
  private tried: Set<Host> | undefined;
  /** Retries done so far. */
  retries = 0;

  constructor(readonly policy: RetryPolicyModel) {
    this.left = policy.numRetries;
    this.grpcCodes = grpcCodesOf(policy);
  }

  /** Records a host an attempt went to (only the previous_hosts predicate needs them). */
  noteTried(host: Host): void {
    if (this.policy.previousHosts) (this.tried ??= new Set()).add(host);
  }

  /** This request already went to `host` (always false without previous_hosts). */
  hasTried(host: Host): boolean {
    return this.tried !== undefined && this.tried.has(host);
  }

  /** Hosts recorded by noteTried. */
  get triedCount(): number {
    return this.tried === undefined ? 0 : this.tried.size;
  }

  /** The policy retries some gRPC status. */
  get retriesGrpc(): boolean {
    return this.grpcCodes.size > 0;
  }

  get remaining(): number {
    return this.left;
  }

  /** Would the policy retry this failure before a response (wouldRetryFromReset)? */
  retriesFailure(f: UpstreamFailure, requestSent: boolean): boolean {
    if (f.kind === 'overflow' || f.kind === 'local_reset') return false;
    const on = this.policy.retryOn;
    if (on.has('5xx') || on.has('gateway-error') || on.has('reset')) return true;
    if (on.has('connect-failure') && f.kind === 'connection_failure') return true;
    if (on.has('refused-stream') && f.h2Code === ErrorCode.REFUSED_STREAM) return true;
    return on.has('reset-before-request') && !requestSent;
  }

  /** Would the policy retry a per-try timeout? (5xx and gateway-error cover it.) */
  retriesTimeout(): boolean {
    const on = this.policy.retryOn;
    return on.has('5xx') || on.has('gateway-error');
  }

  /** Would the policy retry this response? `grpcStatus` only for trailers-only responses. */
  retriesResponse(status: number, grpcStatus: number | undefined): boolean {
    const on = this.policy.retryOn;
    if (on.has('5xx') && status >= 500) return true;
    if (on.has('gateway-error') && (status === 502 || status === 503 || status === 504)) return true;
    if (on.has('retriable-4xx') && status === 409) return true;
    if (on.has('retriable-status-codes') && this.policy.retriableStatusCodes.has(status)) return true;
    return grpcStatus !== undefined && this.grpcCodes.has(grpcStatus);
  }

  /** A gRPC status (from trailers) the policy retries. */
  retriesGrpcStatus(grpcStatus: number): boolean {
    return this.grpcCodes.has(grpcStatus);
  }

  /** Takes one retry; false when the limit is reached. */
  consume(): boolean {
    if (this.left <= 0) return false;
    this.left--;
    this.retries++;
    return true;
  }

  /** Fully jittered exponential back-off: [0, (2^n - 1) × base), capped at max. */
  backOffMs(random: number = Math.random()): number {
    const { backOffBaseMs: base, backOffMaxMs: max } = this.policy;
    const ceiling = Math.min(max, (2 ** this.retries - 1) * base);
    return Math.floor(random * ceiling);
  }
}
