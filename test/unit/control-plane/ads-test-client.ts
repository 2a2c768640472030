/**
 * A raw grpc-js ADS client for testing the fake control plane itself: it sends
 * exactly the requests a test writes and queues every response, so a test can
 * assert what came back, and that nothing came back.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeAnyBinary } from '../../../src/proto/proto-binary';
import type { ProtoObject } from '../../../src/proto/proto-types';
import {
  adsServiceDefinition,
  type DeltaDiscoveryRequestMessage,
  type DeltaDiscoveryResponseMessage,
  type DiscoveryRequestMessage,
  type DiscoveryResponseMessage,
  type WireAny,
} from '../../fakes/control-plane';

type AdsClient = grpc.Client & {
  StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequestMessage, DiscoveryResponseMessage>;
  DeltaAggregatedResources(): grpc.ClientDuplexStream<DeltaDiscoveryRequestMessage, DeltaDiscoveryResponseMessage>;
};

const AdsClientCtor = grpc.makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService') as unknown as new (
  target: string,
  credentials: grpc.ChannelCredentials,
) => AdsClient;

/** One open ADS stream with a queue of responses. */
export class AdsTestStream<Req, Res> {
  private readonly queue: Res[] = [];
  private readonly waiters: Array<{ resolve: (r: Res) => void; reject: (e: Error) => void }> = [];
  private ended: grpc.StatusObject | undefined;
  /** Resolves with the call's final status. */
  readonly status: Promise<grpc.StatusObject>;

  constructor(
    private readonly client: AdsClient,
    private readonly call: grpc.ClientDuplexStream<Req, Res>,
  ) {
    call.on('data', (res: Res) => {
      const waiter = this.waiters.shift();
      if (waiter !== undefined) waiter.resolve(res);
      else this.queue.push(res);
    });
    call.on('error', () => undefined); // the status promise reports it
    this.status = new Promise((resolve) =>
      call.on('status', (status: grpc.StatusObject) => {
        this.ended = status;
        for (const waiter of this.waiters.splice(0)) waiter.reject(this.endedError());
        resolve(status);
      }),
    );
  }

  /** Send one request. */
  send(req: Req): void {
    this.call.write(req);
  }

  /** The next response (queued or future); rejects after `timeoutMs` (default 3000) or when the call ends. */
  next(timeoutMs = 3000): Promise<Res> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.ended !== undefined) return Promise.reject(this.endedError());
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (r: Res): void => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e: Error): void => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no ADS response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private endedError(): Error {
    return new Error(`ADS call ended: ${grpc.status[this.ended!.code]} ${this.ended!.details}`);
  }

  /** Resolves if no response arrives within `ms` (default 300); rejects with the response otherwise. */
  async nothingFor(ms = 300): Promise<void> {
    const got = await this.next(ms).then(
      (r) => r,
      () => undefined,
    );
    if (got !== undefined) throw new Error(`unexpected ADS response: ${JSON.stringify(got, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v))}`);
  }

  /** Half-close and drop the channel. */
  close(): void {
    this.call.end();
    this.client.close();
  }
}

/** Open a SotW stream to `target`. */
export function sotwStream(target: string): AdsTestStream<DiscoveryRequestMessage, DiscoveryResponseMessage> {
  const client = new AdsClientCtor(target, grpc.credentials.createInsecure());
  return new AdsTestStream(client, client.StreamAggregatedResources());
}

/** Open a delta stream to `target`. */
export function deltaStream(target: string): AdsTestStream<DeltaDiscoveryRequestMessage, DeltaDiscoveryResponseMessage> {
  const client = new AdsClientCtor(target, grpc.credentials.createInsecure());
  return new AdsTestStream(client, client.DeltaAggregatedResources());
}

/** A resource of a response, decoded (normalized form); throws on decode errors. */
export function decodeResource(any: WireAny): ProtoObject {
  const { value, errors } = decodeAnyBinary(any);
  if (errors.length > 0) throw new Error(`resource does not decode: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return value;
}

/** Names of the resources of a SotW response (`name`, or `cluster_name` for endpoints). */
export function namesOf(res: DiscoveryResponseMessage): string[] {
  return res.resources.map((any) => {
    const v = decodeResource(any);
    return String(v['name'] ?? v['cluster_name']);
  });
}
