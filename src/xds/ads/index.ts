/**
 * The xDS transport: the ADS client and its vocabulary. Consumers import from here.
 */
export { AdsClient, DEFAULT_INITIAL_BACKOFF_MS, DEFAULT_MAX_BACKOFF_MS, withUserAgent, type AdsState } from './ads-client';
export { DEFAULT_CONNECT_TIMEOUT_MS, grpcTarget } from './ads-stream';
export { JitteredBackoff } from './backoff';
export { MAX_NACK_MESSAGE_CHARS, NACK_STATUS_CODE } from './type-subscription';
export * from './xds-types';
