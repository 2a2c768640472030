/**
 * grpc-js clients for the test services (echo, dubbo, helloworld, health), with
 * promise wrappers that also hand back response headers, trailers and the status.
 *
 * By default each client owns its subchannel pool, so all of its calls travel over
 * ONE HTTP/2 connection shared with no other client: tests can say "400 calls over
 * one client connection" and trust that any spreading across backends was done by
 * the proxy.
 */
import * as grpc from '@grpc/grpc-js';
import { recordToMetadata } from './metadata-util';
import {
  testServiceDefinition,
  type EchoRequest,
  type EchoResponse,
  type TestServiceKind,
} from './test-services';

/** Options of {@link createTestClient}. */
export interface TestClientOptions {
  /**
   * Use a subchannel pool private to this client (`grpc.use_local_subchannel_pool`),
   * so it never shares a connection with another client. Default true.
   */
  readonly singleConnection?: boolean;
  /** Allow grpc-js transparent retries and retry policies (`grpc.enable_retries`). Default false, so the proxy's behaviour is not masked. */
  readonly retries?: boolean;
  /** Extra channel options; they win over the defaults above and the short reconnect backoff (100 ms initial, 1 s max). */
  readonly channelOptions?: grpc.ChannelOptions;
}

/** Per-call options. */
export interface TestCallOptions {
  /** Request metadata; a record is converted (`-bin` keys take base64). */
  readonly metadata?: grpc.Metadata | Readonly<Record<string, string>>;
  /** Deadline relative to now, in ms (sent as `grpc-timeout`). Default: none. */
  readonly deadlineMs?: number;
}

/** Outcome of a call with one response, whatever its status. */
export interface UnaryOutcome<Res> {
  /** `status.code === grpc.status.OK`. */
  readonly ok: boolean;
  /** The final status (code, details, trailers as `metadata`). */
  readonly status: grpc.StatusObject;
  /** The response message; present only when `ok`. */
  readonly response: Res | undefined;
  /** Response headers, when the server sent any before the status (absent for trailers-only replies). */
  readonly headers: grpc.Metadata | undefined;
  /** Response trailers (same as `status.metadata`). */
  readonly trailers: grpc.Metadata;
}

/** A successful unary outcome; {@link GrpcTestClient.unary} rejects instead of returning a failed one. */
export interface UnaryResult<Res> extends UnaryOutcome<Res> {
  readonly ok: true;
  readonly response: Res;
}

/** Outcome of a call with a response stream: every message received, then the status. */
export interface StreamOutcome<Res> {
  readonly ok: boolean;
  readonly status: grpc.StatusObject;
  /** Messages in arrival order (also those before a failing status). */
  readonly messages: Res[];
  readonly headers: grpc.Metadata | undefined;
  readonly trailers: grpc.Metadata;
}

/** A failed call, as {@link GrpcTestClient.unary} rejects with it. */
export class GrpcCallError extends Error {
  /** The gRPC status code. */
  readonly code: grpc.status;
  /** The full outcome (status, headers, trailers). */
  readonly outcome: UnaryOutcome<unknown>;

  constructor(method: string, outcome: UnaryOutcome<unknown>) {
    super(`${method} failed: ${grpc.status[outcome.status.code]} (${outcome.status.code}) ${outcome.status.details}`);
    this.name = 'GrpcCallError';
    this.code = outcome.status.code;
    this.outcome = outcome;
  }
}

/** A client for one test service at one target. Method names are the proto's (`'Unary'`, `'greet'`, `'SayHello'`, `'Check'`). */
export class GrpcTestClient {
  /** The underlying grpc-js client (for channel state, `waitForReady`, raw calls). */
  readonly client: grpc.Client;
  private readonly definition: grpc.ServiceDefinition;

  constructor(
    /** Which service this client calls. */
    readonly kind: TestServiceKind,
    /** `host:port` it connects to. */
    readonly target: string,
    options: TestClientOptions = {},
  ) {
    this.definition = testServiceDefinition(kind);
    const channelOptions: grpc.ChannelOptions = {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      'grpc.enable_retries': options.retries === true ? 1 : 0,
      ...(options.singleConnection === false ? {} : { 'grpc.use_local_subchannel_pool': 1 }),
      ...options.channelOptions,
    };
    this.client = new grpc.Client(target, grpc.credentials.createInsecure(), channelOptions);
  }

  /** Unary call; resolves on OK, rejects with {@link GrpcCallError} otherwise. */
  async unary<Req, Res>(method: string, request: Partial<Req>, options?: TestCallOptions): Promise<UnaryResult<Res>> {
    const outcome = await this.unarySettled<Req, Res>(method, request, options);
    if (!outcome.ok) throw new GrpcCallError(method, outcome);
    return outcome as UnaryResult<Res>;
  }

  /** Unary call that never rejects: resolves with the outcome whatever the status. */
  unarySettled<Req, Res>(method: string, request: Partial<Req>, options?: TestCallOptions): Promise<UnaryOutcome<Res>> {
    const attrs = this.method<Req, Res>(method, false, false);
    return new Promise((resolve) => {
      let response: Res | undefined;
      let headers: grpc.Metadata | undefined;
      const call = this.client.makeUnaryRequest<Partial<Req>, Res>(
        attrs.path,
        attrs.requestSerialize,
        attrs.responseDeserialize,
        request,
        toMetadata(options?.metadata),
        callOptions(options),
        (_err, value) => {
          response = value;
        },
      );
      call.on('metadata', (md: grpc.Metadata) => {
        headers = md;
      });
      // grpc-js runs the callback before emitting 'status', so both are known here.
      call.on('status', (status: grpc.StatusObject) => resolve(unaryOutcome(status, response, headers)));
    });
  }

  /** Server-streaming call: collects every message until the status. Never rejects. */
  serverStream<Req, Res>(method: string, request: Partial<Req>, options?: TestCallOptions): Promise<StreamOutcome<Res>> {
    const attrs = this.method<Req, Res>(method, false, true);
    const call = this.client.makeServerStreamRequest<Partial<Req>, Res>(
      attrs.path,
      attrs.requestSerialize,
      attrs.responseDeserialize,
      request,
      toMetadata(options?.metadata),
      callOptions(options),
    );
    return collectStream(call);
  }

  /** Client-streaming call: writes `requests` in order, half-closes, waits for the single response. Never rejects. */
  clientStream<Req, Res>(method: string, requests: readonly Partial<Req>[], options?: TestCallOptions): Promise<UnaryOutcome<Res>> {
    const attrs = this.method<Req, Res>(method, true, false);
    return new Promise((resolve) => {
      let response: Res | undefined;
      let headers: grpc.Metadata | undefined;
      const call = this.client.makeClientStreamRequest<Partial<Req>, Res>(
        attrs.path,
        attrs.requestSerialize,
        attrs.responseDeserialize,
        toMetadata(options?.metadata),
        callOptions(options),
        (_err, value) => {
          response = value;
        },
      );
      call.on('metadata', (md: grpc.Metadata) => {
        headers = md;
      });
      call.on('status', (status: grpc.StatusObject) => resolve(unaryOutcome(status, response, headers)));
      for (const request of requests) call.write(request);
      call.end();
    });
  }

  /** Bidi call: writes `requests` in order, half-closes, collects every response until the status. Never rejects. */
  bidi<Req, Res>(method: string, requests: readonly Partial<Req>[], options?: TestCallOptions): Promise<StreamOutcome<Res>> {
    const call = this.openBidi<Req, Res>(method, options);
    const outcome = collectStream(call);
    for (const request of requests) call.write(request);
    call.end();
    return outcome;
  }

  /** Open a bidi call and hand back the raw grpc-js stream, for tests that interleave reads and writes. */
  openBidi<Req, Res>(method: string, options?: TestCallOptions): grpc.ClientDuplexStream<Partial<Req>, Res> {
    const attrs = this.method<Req, Res>(method, true, true);
    return this.client.makeBidiStreamRequest<Partial<Req>, Res>(
      attrs.path,
      attrs.requestSerialize,
      attrs.responseDeserialize,
      toMetadata(options?.metadata),
      callOptions(options),
    );
  }

  /** Resolve once the channel is READY (connects if idle); rejects after `timeoutMs` (default 5000). */
  waitForReady(timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Close the channel (calls in flight are cancelled). */
  close(): void {
    this.client.close();
  }

  private method<Req, Res>(name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Partial<Req>, Res> {
    const attrs = this.definition[name];
    if (attrs === undefined) throw new Error(`${this.kind} has no method ${name}`);
    if (attrs.requestStream !== requestStream || attrs.responseStream !== responseStream) {
      throw new Error(`${this.kind}.${name} is not a ${requestStream ? 'client-streaming' : 'unary-request'}/${responseStream ? 'server-streaming' : 'unary-response'} method`);
    }
    return attrs as grpc.MethodDefinition<Partial<Req>, Res>;
  }
}

/** A client for test service `kind` at `target` (`host:port`). */
export function createTestClient(kind: TestServiceKind, target: string, options?: TestClientOptions): GrpcTestClient {
  return new GrpcTestClient(kind, target, options);
}

// === Typed shortcuts for legate.test.Echo ===

/** `legate.test.Echo` with its four methods typed. */
export interface EchoClient {
  /** The generic client underneath (shares the connection). */
  readonly raw: GrpcTestClient;
  unary(request: Partial<EchoRequest>, options?: TestCallOptions): Promise<UnaryResult<EchoResponse>>;
  unarySettled(request: Partial<EchoRequest>, options?: TestCallOptions): Promise<UnaryOutcome<EchoResponse>>;
  serverStream(request: Partial<EchoRequest>, options?: TestCallOptions): Promise<StreamOutcome<EchoResponse>>;
  clientStream(requests: readonly Partial<EchoRequest>[], options?: TestCallOptions): Promise<UnaryOutcome<EchoResponse>>;
  bidi(requests: readonly Partial<EchoRequest>[], options?: TestCallOptions): Promise<StreamOutcome<EchoResponse>>;
  close(): void;
}

/** An {@link EchoClient} for `target`. */
export function createEchoClient(target: string, options?: TestClientOptions): EchoClient {
  const raw = new GrpcTestClient('echo', target, options);
  return {
    raw,
    unary: (request, opts) => raw.unary<EchoRequest, EchoResponse>('Unary', request, opts),
    unarySettled: (request, opts) => raw.unarySettled<EchoRequest, EchoResponse>('Unary', request, opts),
    serverStream: (request, opts) => raw.serverStream<EchoRequest, EchoResponse>('ServerStream', request, opts),
    clientStream: (requests, opts) => raw.clientStream<EchoRequest, EchoResponse>('ClientStream', requests, opts),
    bidi: (requests, opts) => raw.bidi<EchoRequest, EchoResponse>('Bidi', requests, opts),
    close: () => raw.close(),
  };
}

// === helpers ===

function toMetadata(metadata: TestCallOptions['metadata']): grpc.Metadata {
  if (metadata instanceof grpc.Metadata) return metadata;
  return recordToMetadata(metadata);
}

function callOptions(options: TestCallOptions | undefined): grpc.CallOptions {
  return options?.deadlineMs !== undefined ? { deadline: Date.now() + options.deadlineMs } : {};
}

function unaryOutcome<Res>(status: grpc.StatusObject, response: Res | undefined, headers: grpc.Metadata | undefined): UnaryOutcome<Res> {
  const ok = status.code === grpc.status.OK;
  return { ok, status, response: ok ? response : undefined, headers, trailers: status.metadata };
}

function collectStream<Res>(call: grpc.ClientReadableStream<Res> | grpc.ClientDuplexStream<unknown, Res>): Promise<StreamOutcome<Res>> {
  return new Promise((resolve) => {
    const messages: Res[] = [];
    let headers: grpc.Metadata | undefined;
    call.on('metadata', (md: grpc.Metadata) => {
      headers = md;
    });
    call.on('data', (message: Res) => messages.push(message));
    call.on('error', () => undefined); // reported through 'status'
    call.on('status', (status: grpc.StatusObject) => {
      resolve({ ok: status.code === grpc.status.OK, status, messages, headers, trailers: status.metadata });
    });
  });
}
