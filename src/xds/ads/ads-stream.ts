/**
 * One attempt at the ADS bidi stream over grpc-js: its own channel, the raw-bytes stream, a
 * connect deadline, and exactly one close notification.
 *
 * Each attempt gets a fresh channel with a local subchannel pool, so the client's own Envoy-style
 * backoff decides when to retry, not grpc-js' hidden reconnect backoff (1 s growing to 120 s),
 * which would otherwise hold a restarted control plane off for minutes. Messages travel as
 * `Buffer`s: decoding happens in the client, where a bad message can be NACKed or logged instead
 * of failing inside grpc-js' deserializer.
 */
import { isIP } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { lazyRequire } from '../../common/lazy-require';
import { ADS_METHODS } from './discovery-messages';
import type { AdsApiType, AdsClientOptions, AdsTarget } from './xds-types';

/** grpc-js is needed only once a bootstrap has an xDS server (see lazy-require.ts). */
const grpcJs = lazyRequire<typeof import('@grpc/grpc-js')>('@grpc/grpc-js');

/** Default connect deadline of a stream attempt, ms (Envoy's default cluster `connect_timeout`). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** What an {@link AdsStream} reports. None of these is called after {@link AdsStream.close}. */
export interface AdsStreamEvents {
  /** The channel reached READY: the control plane accepted the connection. At most once. */
  onReady(): void;
  /** One serialized response. */
  onMessage(bytes: Buffer): void;
  /** The stream is over (server status, connection failure, or connect timeout). Exactly once. */
  onClose(code: grpc.status, details: string): void;
}

/**
 * The grpc-js target for an Envoy address: `ipv4:`/`ipv6:` for IP literals (no DNS),
 * `dns:` for names, `unix:` for a pipe path (relative paths stay relative to the working
 * directory, as Envoy's do), `unix-abstract:` for `@name` pipes, and a `google_grpc` URI as is.
 */
export function grpcTarget(target: AdsTarget): string {
  switch (target.kind) {
    case 'tcp': {
      const family = isIP(target.host);
      if (family === 4) return `ipv4:${target.host}:${target.port}`;
      if (family === 6) return `ipv6:[${target.host}]:${target.port}`;
      return `dns:${target.host}:${target.port}`;
    }
    case 'pipe':
      return target.path.startsWith('@') ? `unix-abstract:${target.path.slice(1)}` : `unix:${target.path}`;
    case 'google_grpc':
      return target.targetUri;
  }
}

/** Channel options derived from the client options. */
export function channelOptions(options: AdsClientOptions): grpc.ChannelOptions {
  const out: grpc.ChannelOptions = {
    // A fresh subchannel per attempt: see the module comment.
    'grpc.use_local_subchannel_pool': 1,
    // grpc's 4 MiB default is too small for the CDS/EDS of a large mesh; Envoy sets no limit.
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? -1,
    // No transparent retries or service-config lookups: the ADS client owns retrying.
    'grpc.enable_retries': 0,
    'grpc.service_config_disable_resolution': 1,
  };
  if (options.keepalive !== undefined) {
    out['grpc.keepalive_time_ms'] = options.keepalive.intervalMs;
    out['grpc.keepalive_timeout_ms'] = options.keepalive.timeoutMs;
    out['grpc.keepalive_permit_without_calls'] = 1;
  }
  if (options.authority !== undefined) out['grpc.default_authority'] = options.authority;
  return out;
}

const identity = (b: Buffer): Buffer => b;

/** One stream attempt; see the module comment. */
export class AdsStream {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private done = false;
  private connectTimer: NodeJS.Timeout | undefined;

  /**
   * Opens the channel and the stream at once; writes made before the channel is ready are
   * buffered by grpc-js and go out in order.
   */
  constructor(options: AdsClientOptions, apiType: AdsApiType, private readonly events: AdsStreamEvents) {
    this.client = new (grpcJs().Client)(grpcTarget(options.target), grpcJs().credentials.createInsecure(), channelOptions(options));
    const metadata = new (grpcJs().Metadata)();
    for (const [key, value] of options.initialMetadata ?? []) metadata.add(key, value);
    this.call = this.client.makeBidiStreamRequest(options.methodPath ?? ADS_METHODS[apiType], identity, identity, metadata, {});
    this.call.on('data', (bytes: Buffer) => {
      if (!this.done) this.events.onMessage(bytes);
    });
    // Every failure also arrives as 'status'; the listener only keeps 'error' from throwing.
    this.call.on('error', () => {});
    this.call.on('status', (status: grpc.StatusObject) => this.finish(status.code, status.details));
    // Our own timer rather than `waitForReady(deadline)`: grpc-js keeps that deadline timer
    // running after the channel closes, which holds the process open for the whole timeout.
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.connectTimer = setTimeout(() => {
      this.connectTimer = undefined;
      this.finish(grpcJs().status.UNAVAILABLE, `no connection to the xDS server within ${connectTimeoutMs} ms`);
    }, connectTimeoutMs);
    this.watchUntilReady();
  }

  /** Sends one serialized request; ignored once the stream is over. */
  write(bytes: Buffer): void {
    if (this.done) return;
    this.call.write(bytes);
  }

  /** Ends the attempt from our side; no event follows. Idempotent. */
  close(): void {
    if (this.done) return;
    this.done = true;
    this.release();
  }

  /** Follows the channel's state changes (no deadline, so no timer) until READY. */
  private watchUntilReady(): void {
    if (this.done) return;
    const channel = this.client.getChannel();
    let state: grpc.connectivityState;
    try {
      state = channel.getConnectivityState(true);
      if (state !== grpcJs().connectivityState.READY) {
        channel.watchConnectivityState(state, Infinity, () => this.watchUntilReady());
        return;
      }
    } catch {
      return; // the channel was shut down: finish() has run or is about to
    }
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.events.onReady();
  }

  private finish(code: grpc.status, details: string): void {
    if (this.done) return;
    this.done = true;
    this.release();
    this.events.onClose(code, details);
  }

  private release(): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    try {
      this.call.cancel();
    } catch {
      // Already finished: nothing to cancel.
    }
    this.client.close();
  }
}
