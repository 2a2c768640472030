/**
 * A real @grpc/grpc-js server playing an upstream endpoint (a gRPC or Dubbo Triple
 * provider) behind Legate.
 *
 * The TCP listener is ours (a `net.Server` whose sockets are handed to grpc-js via
 * `createConnectionInjector`), so the fake can count connections, refuse them, and
 * die abruptly (TCP reset, no GOAWAY) the way a crashed provider does.
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { echoHandlers } from './echo-service';
import { dubboGreeterHandlers, helloworldHandlers } from './greeter-services';
import { HealthState } from './health-service';
import { hostPort, listenOn } from './listen';
import { TEST_SERVICES, testServiceDefinition, type ServingStatus, type TestServiceKind } from './test-services';

/** Options of {@link startGrpcBackend}. */
export interface GrpcBackendOptions {
  /** Reported in every response (`EchoResponse.backend`, `hello <n> from <name>`) and as `x-backend-name` in response headers and trailers. */
  readonly name: string;
  /** Services to serve. With `'health'`, `''` and every other listed service start `SERVING`. */
  readonly services: readonly TestServiceKind[];
  /** Port to listen on; default 0 (any free port). */
  readonly port?: number;
  /** Address to listen on; default `'127.0.0.1'`. */
  readonly host?: string;
  /** Passed to `new grpc.Server()` (e.g. `'grpc.max_concurrent_streams'`). */
  readonly serverOptions?: grpc.ServerOptions;
}

/** A running fake backend. Counters only grow until {@link GrpcBackend.resetCounters}. */
export interface GrpcBackend {
  /** The `name` option. */
  readonly name: string;
  /** Bound address, e.g. `'127.0.0.1'`. */
  readonly host: string;
  /** Bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** `host:port`, usable as a grpc-js target or an Envoy socket address. */
  readonly address: string;
  /** Calls whose handler started (all methods, health checks included). */
  readonly calls: number;
  /** Calls per HTTP/2 path, e.g. `{ '/legate.test.Echo/Unary': 3 }`; a copy. */
  readonly callsByMethod: Readonly<Record<string, number>>;
  /** TCP connections accepted (refused ones not included). */
  readonly connections: number;
  /** TCP connections currently open. */
  readonly activeConnections: number;
  /** Set the grpc.health.v1 status of `service` (`''` = whole server); `SERVICE_UNKNOWN` unregisters it. No-op without `'health'`. */
  setHealth(service: string, status: ServingStatus): void;
  /** Delay every health Check by `ms` (0 = none), to make health checks time out. */
  setHealthCheckDelay(ms: number): void;
  /** Zero `calls`, `callsByMethod` and `connections`. */
  resetCounters(): void;
  /** While on, accepted TCP connections are reset at once (the port stays open). */
  refuseConnections(refuse: boolean): void;
  /** Graceful: stop listening, GOAWAY open connections, wait up to `graceMs` (default 1000) for calls in flight, then reset what is left. */
  stop(graceMs?: number): Promise<void>;
  /** Abrupt: stop listening and reset every connection now (no GOAWAY, calls in flight fail). */
  kill(): void;
}

/** Start a fake backend; resolves once it is listening. */
export async function startGrpcBackend(options: GrpcBackendOptions): Promise<GrpcBackend> {
  const host = options.host ?? '127.0.0.1';
  const health = new HealthState(
    options.services.includes('health') ? ['', ...options.services.map((kind) => TEST_SERVICES[kind].service)] : [],
  );
  let calls = 0;
  let callsByMethod: Record<string, number> = {};
  let connections = 0;
  let refusing = false;

  const server = new grpc.Server({
    ...options.serverOptions,
    interceptors: [...(options.serverOptions?.interceptors ?? []), backendNameInterceptor(options.name)],
  });
  for (const kind of new Set(options.services)) {
    const definition = testServiceDefinition(kind);
    const handlers = handlersFor(kind, options.name, health);
    const counted: grpc.UntypedServiceImplementation = {};
    for (const [method, attrs] of Object.entries(definition)) {
      const handler = handlers[method];
      if (handler === undefined) throw new Error(`fake ${kind} has no handler for ${method}`);
      counted[method] = countCalls(attrs.path, handler, (path) => {
        calls++;
        callsByMethod[path] = (callsByMethod[path] ?? 0) + 1;
      });
    }
    server.addService(definition, counted);
  }

  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const sockets = new Set<net.Socket>();
  const listener = net.createServer((socket) => {
    if (refusing) {
      socket.resetAndDestroy();
      return;
    }
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    injector.injectConnection(socket);
  });
  const port = await listenOn(listener, options.port ?? 0, host);
  const closed = new Promise<void>((resolve) => listener.on('close', () => resolve()));

  const resetAll = (): void => {
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
  };

  return {
    name: options.name,
    host,
    port,
    address: hostPort(host, port),
    get calls() {
      return calls;
    },
    get callsByMethod() {
      return { ...callsByMethod };
    },
    get connections() {
      return connections;
    },
    get activeConnections() {
      return sockets.size;
    },
    setHealth: (service, status) => health.set(service, status),
    setHealthCheckDelay: (ms) => health.setCheckDelay(ms),
    resetCounters: () => {
      calls = 0;
      callsByMethod = {};
      connections = 0;
    },
    refuseConnections: (refuse) => {
      refusing = refuse;
    },
    stop: async (graceMs = 1000) => {
      if (listener.listening) listener.close();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resetAll();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      resetAll();
      await closed;
    },
    kill: () => {
      if (listener.listening) listener.close();
      resetAll();
      server.forceShutdown();
    },
  };
}

function handlersFor(kind: TestServiceKind, name: string, health: HealthState): grpc.UntypedServiceImplementation {
  switch (kind) {
    case 'echo':
      return echoHandlers(name);
    case 'dubbo':
      return dubboGreeterHandlers(name);
    case 'helloworld':
      return helloworldHandlers(name);
    case 'health':
      return health.handlers();
  }
}

/** Wrap `handler` so every call is counted before the handler runs. */
function countCalls(path: string, handler: grpc.UntypedHandleCall, count: (path: string) => void): grpc.UntypedHandleCall {
  const wrapped = (...args: unknown[]): unknown => {
    count(path);
    return (handler as (...a: unknown[]) => unknown)(...args);
  };
  return wrapped as unknown as grpc.UntypedHandleCall;
}

/**
 * Server interceptor adding `x-backend-name: <name>` to the response headers and
 * to the trailers of every call (trailers too, so trailers-only errors carry it).
 */
function backendNameInterceptor(backendName: string): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      sendMetadata: (metadata, next) => {
        metadata.set('x-backend-name', backendName);
        next(metadata);
      },
      sendStatus: (status, next) => {
        const metadata = status.metadata ?? new grpc.Metadata();
        metadata.set('x-backend-name', backendName);
        next({ ...status, metadata });
      },
    });
}
