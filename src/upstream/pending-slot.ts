/**
 * The cluster's max_pending_requests circuit breaker as a request waiting for a pooled
 * stream sees it (Envoy's newStreamImpl): only a request that would have to wait takes a slot.
 */
export interface PendingLimit {
  /** Takes a pending slot; false (overflow counted) when the breaker is open. */
  tryPend(): boolean;
  unpend(): void;
}

/**
 * Takes a slot for a request about to ask its pool for a stream: true when one was taken (give
 * it back when the stream comes or the request is cancelled), false when none was needed, and
 * 'overflow' when the breaker is open: the request fails before anything is queued or connected.
 */
export function takePendingSlot(limit: PendingLimit | undefined, wouldQueue: boolean): boolean | 'overflow' {
  if (limit === undefined || !wouldQueue) return false;
  return limit.tryPend() ? true : 'overflow';
}
