/**
 * A tiny real ADS server for the transport tests: grpc-js on loopback (or a Unix socket), both
 * ADS methods, every request decoded into the normalized form, responses built by the test
 * byte for byte (so tests can send garbage, wrong type URLs, duplicate names). No protocol logic:
 * the test decides what to answer.
 */
import * as grpc from '@grpc/grpc-js';
import type { XdsWatcher, ResourceUpdate, XdsTypeUrl } from '../../../src/xds/ads';
import { discoveryTypes } from '../../../src/xds/ads/discovery-messages';
import { decodeBinary } from '../../../src/proto/proto-binary';
import { encodeBinaryAny } from '../../../src/proto/proto-encode';
import type { ProtoObject } from '../../../src/proto/proto-types';

/** A decoded request: normalized (snake_case) DiscoveryRequest or DeltaDiscoveryRequest. */
export type Req = Record<string, any>;

/** One accepted ADS stream, server side. */
export class TestAdsStream {
  readonly requests: Req[] = [];
  /** When the server accepted the stream (performance.now()). */
  readonly openedAt = performance.now();
  private waiters: Array<(r: Req) => void> = [];
  private readonly endedPromise: Promise<void>;
  private endedResolve!: () => void;
  private finished = false;

  constructor(readonly delta: boolean, private readonly call: grpc.ServerDuplexStream<Buffer, Buffer>) {
    this.endedPromise = new Promise((resolve) => (this.endedResolve = resolve));
    const type = delta ? discoveryTypes().deltaRequest : discoveryTypes().request;
    call.on('data', (bytes: Buffer) => {
      const decoded = decodeBinary(type, bytes);
      const req = decoded.value as Req;
      const waiter = this.waiters.shift();
      if (waiter) waiter(req);
      else this.requests.push(req);
    });
    call.on('error', () => {});
    const done = (): void => {
      this.finished = true;
      this.endedResolve();
    };
    call.on('end', done);
    call.on('cancelled', done);
    call.on('close', done);
  }

  /** Resolves when the client is gone (half-close or cancel). */
  get ended(): Promise<void> {
    return this.endedPromise;
  }

  /** True once the client ended or cancelled. */
  get isEnded(): boolean {
    return this.finished;
  }

  /** The next request not yet consumed; rejects after `timeoutMs` (default 10 s: generous for loaded CI). */
  nextRequest(timeoutMs = 10_000): Promise<Req> {
    const queued = this.requests.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no request within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (r: Req): void => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves true if no request arrives within `ms`. */
  async quietFor(ms: number): Promise<boolean> {
    try {
      const r = await this.nextRequest(ms);
      this.requests.unshift(r);
      return false;
    } catch {
      return true;
    }
  }

  /**
   * Sends a response given in protobufjs object form (snake_case; Anys as `{type_url, value}`).
   * See {@link sotwResponse} / {@link deltaResponse}.
   */
  send(response: Record<string, unknown>): void {
    const type = this.delta ? discoveryTypes().deltaResponse : discoveryTypes().response;
    this.call.write(Buffer.from(type.encode(type.fromObject(response)).finish()));
  }

  /** Writes raw bytes as one message (for undecodable responses). */
  sendRaw(bytes: Buffer): void {
    this.call.write(bytes);
  }

  /** Ends the stream from the server side with `code` (default OK). */
  end(code: grpc.status = grpc.status.OK, details = ''): void {
    if (code === grpc.status.OK) this.call.end();
    else this.call.emit('error', { code, details });
  }
}

/** A running test ADS server. */
export interface TestAdsServer {
  /** Bound TCP port (0 for a Unix socket). */
  readonly port: number;
  /** Streams accepted so far, in order. */
  readonly streams: TestAdsStream[];
  /** The next stream (already accepted or future); rejects after `timeoutMs` (default 10 s). */
  nextStream(timeoutMs?: number): Promise<TestAdsStream>;
  /** Stops at once, cancelling open streams. */
  close(): Promise<void>;
}

const identity = (b: Buffer): Buffer => b;

/** Starts a server on 127.0.0.1:`port` (default any), or on `unix:<path>` when `socketPath` is given. */
export async function startTestAdsServer(socketPath?: string, port = 0): Promise<TestAdsServer> {
  const server = new grpc.Server();
  const streams: TestAdsStream[] = [];
  let consumed = 0;
  let waiters: Array<(s: TestAdsStream) => void> = [];
  const accept = (delta: boolean) => (call: grpc.ServerDuplexStream<Buffer, Buffer>): void => {
    const s = new TestAdsStream(delta, call);
    streams.push(s);
    const w = waiters.shift();
    if (w) {
      consumed++;
      w(s);
    }
  };
  const method = (name: string): grpc.MethodDefinition<Buffer, Buffer> => ({
    path: `/envoy.service.discovery.v3.AggregatedDiscoveryService/${name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  });
  server.addService(
    { StreamAggregatedResources: method('StreamAggregatedResources'), DeltaAggregatedResources: method('DeltaAggregatedResources') },
    { StreamAggregatedResources: accept(false), DeltaAggregatedResources: accept(true) },
  );
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(socketPath !== undefined ? `unix:${socketPath}` : `127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port: boundPort,
    streams,
    nextStream(timeoutMs = 10_000) {
      if (consumed < streams.length) return Promise.resolve(streams[consumed++]!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`no stream within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (s: TestAdsStream): void => {
          clearTimeout(timer);
          resolve(s);
        };
        waiters.push(waiter);
      });
    },
    close: () => new Promise<void>((resolve) => {
      server.forceShutdown();
      resolve();
    }),
  };
}

// === Responses and resources ===

/** A binary Any of a normalized message. */
export function anyOf(typeUrl: string, value: ProtoObject): { type_url: string; value: Uint8Array } {
  return encodeBinaryAny(typeUrl, value);
}

/** A SotW response in protobufjs object form. */
export function sotwResponse(typeUrl: string, version: string, nonce: string, resources: ReadonlyArray<{ type_url: string; value: Uint8Array }>): Record<string, unknown> {
  return { type_url: typeUrl, version_info: version, nonce, resources };
}

/** A delta response in protobufjs object form. */
export function deltaResponse(
  typeUrl: string,
  nonce: string,
  resources: ReadonlyArray<{ name: string; version: string; resource?: { type_url: string; value: Uint8Array }; aliases?: string[] }>,
  removed: readonly string[] = [],
  systemVersion = '',
): Record<string, unknown> {
  return { type_url: typeUrl, nonce, system_version_info: systemVersion, resources, removed_resources: removed };
}

/** A minimal valid Cluster. */
export function cluster(name: string, connectTimeoutMs = 1000): ProtoObject {
  return { name, connect_timeout: connectTimeoutMs, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } };
}

/** A minimal valid ClusterLoadAssignment with one endpoint on `port`. */
export function loadAssignment(clusterName: string, port = 8080): ProtoObject {
  return { cluster_name: clusterName, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] };
}

/** A minimal valid RouteConfiguration. */
export function routeConfig(name: string): ProtoObject {
  return { name, virtual_hosts: [{ name: 'vh', domains: ['*'] }] };
}

// === Watcher ===

/** One onUpdate call. */
export interface SeenUpdate {
  readonly typeUrl: XdsTypeUrl;
  readonly update: ResourceUpdate;
}

/** A watcher that records everything and answers as `reply` says (default ACK). */
export class RecordingWatcher implements XdsWatcher {
  readonly updates: SeenUpdate[] = [];
  readonly connection: boolean[] = [];
  readonly acks: Array<{ typeUrl: string; rejected: boolean; version: string }> = [];
  reply: (typeUrl: XdsTypeUrl, update: ResourceUpdate) => string[] = () => [];
  private waiters: Array<() => void> = [];

  onUpdate(typeUrl: XdsTypeUrl, update: ResourceUpdate): string[] {
    this.updates.push({ typeUrl, update });
    const out = this.reply(typeUrl, update);
    this.wake();
    return out;
  }

  onConnectionState(connected: boolean): void {
    this.connection.push(connected);
    this.wake();
  }

  onAckSent(typeUrl: string, rejected: boolean, version: string): void {
    this.acks.push({ typeUrl, rejected, version });
    this.wake();
  }

  /** Resolves once `predicate()` holds (checked after every callback); rejects after `timeoutMs` (default 10 s). */
  async until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('condition not met in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}

/** Test node, as a bootstrap would give it (normalized). */
export const TEST_NODE: Record<string, unknown> = {
  id: 'sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local',
  cluster: 'app.ns',
  metadata: { ISTIO_VERSION: '1.22.0', NAMESPACE: 'ns' },
};
