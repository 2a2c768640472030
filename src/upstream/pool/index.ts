/**
 * Per-host HTTP/2 session pools: connect, stream placement under MAX_CONCURRENT_STREAMS, GOAWAY,
 * keepalive PINGs, idle close, pending queue. One `H2HostPool` per upstream host address.
 */
export { H2HostPool } from './h2-host-pool';
export type { PoolState } from './h2-host-pool';
export { SETTLED_HANDLE } from './pending-request';
export type { PendingHandle, PoolCallback } from './pending-request';
export { CONNECT_TIMEOUT_MESSAGE, PoolError, SessionDestroyedError } from './pool-error';
export type { PoolErrorKind } from './pool-error';
export type { H2PoolEvents, SessionCloseInfo, SessionCloseReason } from './pool-events';
export { DEFAULT_POOL_OPTIONS, resolvePoolOptions } from './pool-options';
export type { H2PoolOptions, PoolAddress } from './pool-options';
export { ASSUMED_PEER_MAX_STREAMS, pooledSessionOf } from './pooled-session';
export type { PooledSessionInfo, SessionState } from './pooled-session';
export { isUnprocessedStreamFailure } from './unprocessed-stream';
