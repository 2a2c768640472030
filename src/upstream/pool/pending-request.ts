/**
 * A request waiting in a pool's queue, and the handle its caller uses to withdraw it.
 */
import type * as http2 from 'node:http2';
import type { PoolError } from './pool-error';
import type { PooledSessionInfo } from './pooled-session';

/**
 * Receives the outcome of `H2HostPool.request()`, exactly once (unless the request is cancelled
 * while queued, then never):
 * - success: `err === null`, `stream` is open, `session` describes its session, `reused` is true
 *   if the session had carried streams before this one;
 * - failure: `err` is a {@link PoolError} and nothing was sent upstream.
 */
export type PoolCallback<S = http2.ClientHttp2Stream> = (
  err: PoolError | null,
  stream: S | undefined,
  session: PooledSessionInfo | undefined,
  reused: boolean,
) => void;

/** Lets a caller withdraw a request that is still queued (e.g. the downstream went away). */
export interface PendingHandle {
  /**
   * Withdraws the request if it is still queued: returns true and its callback will never run.
   * Returns false if the callback has already run (or was scheduled to run synchronously).
   */
  cancel(): boolean;
}

/** Handle returned when `request()` settled before returning; `cancel()` is a no-op. */
export const SETTLED_HANDLE: PendingHandle = Object.freeze({ cancel: (): boolean => false });

/** What a queued request needs from its pool. */
export interface PendingOwner {
  onPendingCancelled(request: { readonly state: PendingState }): void;
}

/** `queued` → exactly one of `dispatched` | `failed` | `cancelled`. */
export type PendingState = 'queued' | 'dispatched' | 'failed' | 'cancelled';

export class PendingRequest<S = http2.ClientHttp2Stream> implements PendingHandle {
  state: PendingState = 'queued';

  constructor(
    private readonly owner: PendingOwner,
    readonly headers: http2.OutgoingHttpHeaders,
    readonly options: http2.ClientSessionRequestOptions | undefined,
    readonly callback: PoolCallback<S>,
  ) {}

  cancel(): boolean {
    if (this.state !== 'queued') return false;
    this.state = 'cancelled';
    this.owner.onPendingCancelled(this);
    return true;
  }
}
