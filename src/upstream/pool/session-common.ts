/**
 * What both kinds of pooled session (node:http2's PooledSession and the frame-level core's
 * FramePooledSession) do the same way: open the TCP connection, bound the streams per
 * connection, and report how a connection that never became ready failed.
 */
import * as net from 'node:net';
import { CONNECT_TIMEOUT_MESSAGE, PoolError, connectFailure } from './pool-error';
import type { H2PoolOptions, PoolAddress } from './pool-options';

/** Client stream ids are odd and below 2^31, so one connection can open at most 2^30 streams. */
const STREAM_ID_LIMIT = 2 ** 30 - 1;

/** The TCP (or Unix socket) connection to a host, with Nagle off and the cluster's source address. */
export function connectSocket(address: PoolAddress, options: H2PoolOptions): net.Socket {
  return 'path' in address
    ? net.connect({ path: address.path })
    : net.connect({ host: address.host, port: address.port, localAddress: options.localAddress, noDelay: true });
}

/** Streams one connection may open over its life (max_requests_per_connection, and the id space). */
export function requestLimitOf(options: H2PoolOptions): number {
  return options.maxRequestsPerSession > 0 ? Math.min(options.maxRequestsPerSession, STREAM_ID_LIMIT) : STREAM_ID_LIMIT;
}

/** Why a connection closed before it became ready: the connect timeout, or the socket's error. */
export function connectFailureOf(timedOut: boolean, tcpConnected: boolean, lastError: Error | undefined): PoolError {
  return timedOut
    ? new PoolError('connect_timeout', CONNECT_TIMEOUT_MESSAGE,
      new Error(tcpConnected ? 'TCP connected but no HTTP/2 SETTINGS from the peer' : 'TCP connect did not complete'))
    : connectFailure(lastError);
}
