/**
 * A real ADS control plane for tests: a @grpc/grpc-js server speaking
 * `envoy.service.discovery.v3.AggregatedDiscoveryService` (SotW and delta) over
 * TCP or a unix socket, serving resources the test sets as proto3 JSON (or raw
 * bytes), and recording every request so tests can wait for ACKs and NACKs.
 *
 * The TCP/unix listener is ours (a `net.Server` handing sockets to grpc-js via
 * `createConnectionInjector`, as `test/fakes/grpc-backend.ts` does), so the
 * control plane can be stopped gracefully (GOAWAY) or abruptly (TCP reset, as
 * when istiod is killed) and restarted on the same address with the same state.
 * Ideas from grpc/grpc-node:packages/grpc-js-xds/test/xds-server.ts; protocol
 * rules in `sotw-stream.ts` and `delta-stream.ts`.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ProtoObject } from '../../../src/proto/proto-types';
import { hostPort, listenOn } from '../listen';
import {
  CDS_TYPE_URL,
  LDS_TYPE_URL,
  PUSH_ORDER,
  type DeltaDiscoveryRequestMessage,
  type DeltaDiscoveryResponseMessage,
  type DiscoveryRequestMessage,
  type DiscoveryResponseMessage,
  type EncodeResourceOptions,
  type ProtoJsonObject,
  type WireAny,
  PER_TYPE_SERVICES,
  adsServiceDefinition,
  discoveryServiceDefinition,
  encodeResource,
  withResourceName,
} from './ads-codec';
import type { ErrorDetail, RequestRecord, ResponseRecord, StreamHost } from './ads-stream';
import { DeltaStream } from './delta-stream';
import { ResourceStore, type VersionStyle } from './resource-store';
import { SotwStream } from './sotw-stream';

/** Options of {@link startControlPlane}. */
export interface ControlPlaneOptions {
  /** TCP port; default 0 (any free port). Ignored with `socketPath`. */
  readonly port?: number;
  /** TCP address to listen on; default `'127.0.0.1'`. Ignored with `socketPath`. */
  readonly host?: string;
  /** Listen on this unix socket instead of TCP (Istio's `pipe` address to pilot-agent, `./etc/istio/proxy/XDS`). A stale socket file is removed first. */
  readonly socketPath?: string;
  /** Version strings: `'counter'` (default: "1", "2", ... per type), `'istio'` ("2026-11-22T01:02:03Z/7", istiod's format) or a function. */
  readonly versionStyle?: VersionStyle;
  /** Types where an empty first subscription means "all" (legacy wildcard); default LDS and CDS. `*` works for every type. */
  readonly wildcardTypes?: readonly string[];
  /** Delta: answer an explicitly subscribed name that does not exist with `removed_resources` (`'removed'`, default, as istiod does) or not at all (`'ignore'`). */
  readonly deltaMissing?: 'removed' | 'ignore';
  /** `control_plane.identifier` of every response; default `'legate-fake-control-plane'`. */
  readonly controlPlaneId?: string;
}

/** A named resource as proto3 JSON. */
export interface ResourceEntry {
  /** Resource name (must match the resource's own name for a well-formed config). */
  readonly name: string;
  /** proto3 JSON (snake_case or camelCase, `@type` on Anys; a top-level `@type` is allowed). */
  readonly value: ProtoJsonObject;
}

/** A resource with its type, as {@link loadFixtureResources} returns them. */
export interface TypedResourceEntry extends ResourceEntry {
  /** `type.googleapis.com/...` of the resource. */
  readonly typeUrl: string;
}

/** Options of {@link ControlPlane.stop} and {@link ControlPlane.restart}. */
export interface StopOptions {
  /** Reset every TCP connection instead of sending GOAWAY first (a crashed control plane). Default false. */
  readonly abrupt?: boolean;
}

interface ActiveStream {
  readonly stream: SotwStream | DeltaStream;
  readonly call: grpc.ServerDuplexStream<unknown, unknown>;
}

interface Listening {
  readonly server: grpc.Server;
  readonly listener: net.Server;
  readonly sockets: Set<net.Socket>;
  readonly closed: Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 5000;

/** Start a control plane; resolves once it accepts connections. */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const cp = new ControlPlane(opts);
  await cp.listen();
  return cp;
}

/** A fake ADS server; create it with {@link startControlPlane}. */
export class ControlPlane {
  private readonly store: ResourceStore;
  private readonly wildcardTypes: ReadonlySet<string>;
  private readonly events = new EventEmitter();
  private readonly active = new Set<ActiveStream>();
  private readonly byNonce = new Map<string, ResponseRecord>();
  private readonly delays = new Map<string, number>();
  private readonly paused = new Set<string>();
  private readonly streamHost: StreamHost;
  private requestLog: RequestRecord[] = [];
  private responseLog: ResponseRecord[] = [];
  private defaultDelayMs = 0;
  private nonceCounter = 0;
  private streamCounter = 0;
  private boundPort: number;
  private node: ProtoObject | undefined;
  private listening: Listening | undefined;

  /** Use {@link startControlPlane}. */
  constructor(private readonly opts: ControlPlaneOptions) {
    this.store = new ResourceStore(opts.versionStyle ?? 'counter');
    this.wildcardTypes = new Set(opts.wildcardTypes ?? [LDS_TYPE_URL, CDS_TYPE_URL]);
    this.boundPort = opts.socketPath !== undefined ? 0 : (opts.port ?? 0);
    this.events.setMaxListeners(0);
    this.store.onChange((typeUrl) => this.refresh(typeUrl));
    this.streamHost = {
      store: this.store,
      controlPlaneId: opts.controlPlaneId ?? 'legate-fake-control-plane',
      deltaMissing: opts.deltaMissing ?? 'removed',
      isWildcardType: (typeUrl) => this.wildcardTypes.has(typeUrl),
      nextNonce: () => String(++this.nonceCounter),
      responseDelayMs: (typeUrl) => this.delays.get(typeUrl) ?? this.defaultDelayMs,
      isPaused: (typeUrl) => this.paused.has(typeUrl),
      received: (record) => this.received(record),
      sent: (record) => {
        this.responseLog.push(record);
        this.byNonce.set(record.nonce, record);
        this.events.emit('change');
      },
    };
  }

  // === Address ===

  /** TCP address listened on (`'127.0.0.1'` by default); undefined on a unix socket. */
  get host(): string | undefined {
    return this.opts.socketPath === undefined ? (this.opts.host ?? '127.0.0.1') : undefined;
  }

  /** Bound TCP port (the real one when 0 was asked for; kept across restarts); 0 on a unix socket. */
  get port(): number {
    return this.boundPort;
  }

  /** The unix socket path, when listening on one. */
  get socketPath(): string | undefined {
    return this.opts.socketPath;
  }

  /** `host:port`, or the socket path: what an Envoy `socket_address` / `pipe.path` names. */
  get address(): string {
    return this.opts.socketPath ?? hostPort(this.host!, this.boundPort);
  }

  /** A grpc-js channel target: `host:port` or `unix:<path>`. */
  get target(): string {
    return this.opts.socketPath !== undefined ? `unix:${this.opts.socketPath}` : this.address;
  }

  /** True between listening and {@link stop}. */
  get running(): boolean {
    return this.listening !== undefined;
  }

  // === Records ===

  /** Every request received since start (or {@link clearRecords}), in arrival order. */
  get requests(): readonly RequestRecord[] {
    return this.requestLog;
  }

  /** Every response sent since start (or {@link clearRecords}), in order. */
  get responses(): readonly ResponseRecord[] {
    return this.responseLog;
  }

  /** The `node` of the latest request that carried one, on any stream. */
  get lastNode(): ProtoObject | undefined {
    return this.node;
  }

  /** ADS streams (both variants) currently open. */
  get connectedStreams(): number {
    return this.active.size;
  }

  /** ADS streams accepted since start, restarts included. */
  get totalStreams(): number {
    return this.streamCounter;
  }

  /** Forget recorded requests and responses (ACK matching by nonce still works). */
  clearRecords(): void {
    this.requestLog = [];
    this.responseLog = [];
  }

  /** Call `listener` for every request, before it is acted on; returns the unsubscribe function. */
  onRequest(listener: (request: RequestRecord) => void): () => void {
    this.events.on('request', listener);
    return () => this.events.off('request', listener);
  }

  // === Resources ===

  /** Current version of `typeUrl`'s set (counter 0, e.g. `'0'`, when never set). */
  version(typeUrl: string): string {
    return this.store.version(typeUrl);
  }

  /** Names served for `typeUrl`, in insertion order. */
  resourceNames(typeUrl: string): string[] {
    return [...this.store.snapshot(typeUrl).resources.keys()];
  }

  /**
   * Replace the whole set of `typeUrl`, bump its version and push to every
   * subscribed stream. A value without a name field gets `name` (`cluster_name`
   * for EDS). Throws (changing nothing) when a value does not encode; see
   * {@link encodeResource}. Returns the new version.
   */
  setResources(typeUrl: string, resources: readonly ResourceEntry[], opts: EncodeResourceOptions = {}): string {
    const inputs = resources.map(({ name, value }) => ({ name, any: encodeResource(typeUrl, withResourceName(typeUrl, name, value), opts) }));
    return this.store.replace(typeUrl, inputs);
  }

  /** Add or replace one resource (as {@link setResources}); returns the new version. */
  setResource(typeUrl: string, name: string, value: ProtoJsonObject, opts: EncodeResourceOptions = {}): string {
    return this.store.upsert(typeUrl, { name, any: encodeResource(typeUrl, withResourceName(typeUrl, name, value), opts) });
  }

  /**
   * Serve arbitrary bytes as resource `name`: `bytes` becomes the Any's value
   * (type URL `typeUrl`), or give a whole `{ type_url, value }` to lie about the
   * type too. For NACK tests (truncated or random bytes) and for types the Envoy
   * protos lack. Returns the new version.
   */
  setRawResource(typeUrl: string, name: string, bytes: Uint8Array | WireAny): string {
    const any = bytes instanceof Uint8Array ? { type_url: typeUrl, value: bytes } : bytes;
    return this.store.upsert(typeUrl, { name, any });
  }

  /** Remove one resource and push; returns the version (unchanged when it did not exist). */
  removeResource(typeUrl: string, name: string): string {
    return this.store.remove(typeUrl, name);
  }

  /**
   * Serve a mixed list (a loaded fixture): for every type URL present, replace
   * that type's set with the entries of that type. Types are set in istiod's
   * push order (CDS, EDS, LDS, RDS, SDS, then the rest). Returns type → version.
   */
  applyResources(entries: readonly TypedResourceEntry[], opts: EncodeResourceOptions = {}): Record<string, string> {
    const byType = new Map<string, ResourceEntry[]>();
    for (const e of entries) {
      let list = byType.get(e.typeUrl);
      if (list === undefined) byType.set(e.typeUrl, (list = []));
      list.push({ name: e.name, value: e.value });
    }
    const rank = (t: string): number => (PUSH_ORDER.includes(t) ? PUSH_ORDER.indexOf(t) : PUSH_ORDER.length);
    const versions: Record<string, string> = {};
    for (const typeUrl of [...byType.keys()].sort((a, b) => rank(a) - rank(b))) {
      versions[typeUrl] = this.setResources(typeUrl, byType.get(typeUrl)!, opts);
    }
    return versions;
  }

  // === Pacing ===

  /**
   * Delay every response (of `typeUrl` only, when given) by `ms`; the content is
   * read when it is sent. 0 (default) sends at once. A per-type setting wins
   * over the all-types one; `setResponseDelayMs(0, typeUrl)` pins a type to 0.
   */
  setResponseDelayMs(ms: number, typeUrl?: string): void {
    if (typeUrl === undefined) this.defaultDelayMs = ms;
    else this.delays.set(typeUrl, ms);
  }

  /** Send nothing of `typeUrl` until {@link resume} (requests are still recorded): a control plane that never answers EDS, say. */
  pause(typeUrl: string): void {
    this.paused.add(typeUrl);
  }

  /** Undo {@link pause}: every stream gets what it is owed for `typeUrl`. */
  resume(typeUrl: string): void {
    if (this.paused.delete(typeUrl)) this.refresh(typeUrl);
  }

  // === Waiting ===

  /** Resolve with the first request (already received, or future) matching `predicate`. */
  waitForRequest(predicate: (r: RequestRecord) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS, what = 'a matching request'): Promise<RequestRecord> {
    let scanned = 0;
    let log = this.requestLog;
    return this.waitFor(() => {
      if (log !== this.requestLog) [log, scanned] = [this.requestLog, 0];
      for (; scanned < log.length; scanned++) if (predicate(log[scanned]!)) return log[scanned];
      return undefined;
    }, timeoutMs, () => `${what}${this.recentRequests()}`);
  }

  /**
   * Resolve with the ACK of `typeUrl` at `version` (default: the current one): a
   * request without `error_detail` whose nonce is that of a response of this
   * version, on either variant and any stream, received before or after the call.
   */
  waitForAck(typeUrl: string, version: string = this.version(typeUrl), timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RequestRecord> {
    return this.waitForRequest(
      (r) => r.typeUrl === typeUrl && r.errorDetail === undefined && this.byNonce.get(r.responseNonce)?.version === version && this.byNonce.get(r.responseNonce)?.typeUrl === typeUrl,
      timeoutMs,
      `ACK of ${typeUrl} version ${version}`,
    );
  }

  /**
   * Resolve with the `error_detail` of a NACK of `typeUrl` answering a response
   * at `version` (default: the current one; `null` = any version), received
   * before or after the call.
   */
  async waitForNack(typeUrl: string, timeoutMs = DEFAULT_TIMEOUT_MS, version: string | null = this.version(typeUrl)): Promise<ErrorDetail> {
    const nack = await this.waitForRequest(
      (r) => {
        const answered = this.byNonce.get(r.responseNonce);
        return r.typeUrl === typeUrl && r.errorDetail !== undefined && answered?.typeUrl === typeUrl && (version === null || answered.version === version);
      },
      timeoutMs,
      `NACK of ${typeUrl}${version === null ? '' : ` version ${version}`}`,
    );
    return nack.errorDetail!;
  }

  /** Resolve once at least `count` streams are open. */
  waitForStreams(count: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<number> {
    return this.waitFor(() => (this.active.size >= count ? this.active.size : undefined), timeoutMs, () => `${count} open ADS streams (have ${this.active.size})`);
  }

  // === Lifecycle ===

  /** End every open stream with UNAVAILABLE (the server keeps listening; clients reconnect). */
  disconnectAll(details = 'fake control plane closed the stream'): void {
    for (const entry of [...this.active]) {
      this.finish(entry);
      const error = Object.assign(new Error(details), { code: grpc.status.UNAVAILABLE, details });
      entry.call.emit('error', error);
    }
  }

  /**
   * Shut the server down, forced: stop listening and end every open stream at
   * once, with status UNAVAILABLE and GOAWAY (as a stopping grpc-go server does),
   * or, when `abrupt`, by resetting every TCP connection (a killed control plane).
   * State, versions and nonces are kept for {@link restart}.
   */
  async stop(opts: StopOptions = {}): Promise<void> {
    const listening = this.listening;
    if (listening === undefined) return;
    this.listening = undefined;
    listening.listener.close();
    if (opts.abrupt === true) {
      for (const entry of [...this.active]) this.finish(entry);
      // RST on TCP; a unix socket has no reset, closing it is the closest.
      for (const socket of listening.sockets) this.opts.socketPath === undefined ? socket.resetAndDestroy() : socket.destroy();
    } else {
      this.disconnectAll('fake control plane shutting down');
      // Let the statuses go out before the sessions are torn down.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250);
        listening.server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    listening.server.forceShutdown();
    for (const socket of listening.sockets) socket.destroy();
    listening.sockets.clear();
    await listening.closed;
  }

  /** {@link stop}, stay down `downMs` (default 0), then listen again on the same port or socket with the same state. */
  async restart(opts: StopOptions & { readonly downMs?: number } = {}): Promise<void> {
    await this.stop(opts);
    if (opts.downMs !== undefined && opts.downMs > 0) await new Promise((resolve) => setTimeout(resolve, opts.downMs));
    await this.listen();
  }

  /** Bind (again); used by {@link startControlPlane} and {@link restart}. */
  async listen(): Promise<void> {
    if (this.listening !== undefined) return;
    const server = new grpc.Server();
    const sotw = (call: grpc.ServerDuplexStream<DiscoveryRequestMessage, DiscoveryResponseMessage>): void => {
      this.accept(call, (id) => new SotwStream(id, this.streamHost, (msg) => safeWrite(call, msg)));
    };
    const delta = (call: grpc.ServerDuplexStream<DeltaDiscoveryRequestMessage, DeltaDiscoveryResponseMessage>): void => {
      this.accept(call, (id) => new DeltaStream(id, this.streamHost, (msg) => safeWrite(call, msg)));
    };
    server.addService(adsServiceDefinition(), { StreamAggregatedResources: sotw, DeltaAggregatedResources: delta } as grpc.UntypedServiceImplementation);
    // The per-type services (non-aggregated api_config_source): the same streams, one type each.
    for (const s of PER_TYPE_SERVICES) {
      server.addService(discoveryServiceDefinition(s.service, s.sotw, s.delta), { [s.sotw]: sotw, [s.delta]: delta } as grpc.UntypedServiceImplementation);
    }
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const sockets = new Set<net.Socket>();
    const listener = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      injector.injectConnection(socket);
    });
    const closed = new Promise<void>((resolve) => listener.on('close', () => resolve()));
    try {
      if (this.opts.socketPath !== undefined) await listenUnix(listener, this.opts.socketPath);
      else this.boundPort = await listenOn(listener, this.boundPort, this.host!);
    } catch (err) {
      server.forceShutdown();
      throw err;
    }
    this.listening = { server, listener, sockets, closed };
  }

  // === Internals ===

  private accept<Req>(call: grpc.ServerDuplexStream<Req, unknown>, make: (id: number) => SotwStream | DeltaStream): void {
    const stream = make(++this.streamCounter);
    const entry: ActiveStream = { stream, call: call as grpc.ServerDuplexStream<unknown, unknown> };
    this.active.add(entry);
    this.events.emit('change');
    call.on('data', (req: Req) => {
      if (!stream.open) return;
      if (stream instanceof SotwStream) stream.onRequest(req as DiscoveryRequestMessage);
      else stream.onRequest(req as DeltaDiscoveryRequestMessage);
    });
    call.on('end', () => {
      this.finish(entry);
      call.end();
    });
    for (const event of ['error', 'cancelled', 'close']) call.on(event, () => this.finish(entry));
  }

  private finish(entry: ActiveStream): void {
    if (!this.active.delete(entry)) return;
    entry.stream.close();
    this.events.emit('change');
  }

  private received(record: RequestRecord): void {
    this.requestLog.push(record);
    if (record.node !== undefined) this.node = record.node;
    this.events.emit('request', record);
    this.events.emit('change');
  }

  private refresh(typeUrl: string): void {
    for (const { stream } of this.active) stream.refresh(typeUrl);
  }

  private waitFor<T>(check: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<T>((resolve, reject) => {
      const onChange = (): void => {
        const value = check();
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake control plane: timed out after ${timeoutMs} ms waiting for ${what()}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.events.off('change', onChange);
      };
      this.events.on('change', onChange);
    });
  }

  private recentRequests(): string {
    const last = this.requestLog.slice(-8);
    if (last.length === 0) return '; no requests received';
    const line = (r: RequestRecord): string =>
      `#${r.stream} ${r.kind} ${r.typeUrl.slice(r.typeUrl.lastIndexOf('.') + 1)} version="${r.versionInfo}" nonce="${r.responseNonce}"` +
      ` names=${JSON.stringify(r.resourceNames)}${r.errorDetail !== undefined ? ` NACK ${JSON.stringify(r.errorDetail.message)}` : ''}${r.stale ? ' (stale)' : ''}`;
    return `; last requests:\n  ${last.map(line).join('\n  ')}`;
  }
}

/** Write unless the call is already gone (a client that hung up mid-push). */
function safeWrite<T>(call: grpc.ServerDuplexStream<unknown, T>, message: T): void {
  if (call.cancelled || call.writableEnded || call.destroyed) return;
  try {
    call.write(message);
  } catch {
    // The stream closed between the check and the write; its 'close' cleans up.
  }
}

/** Listen on a unix socket, replacing a stale socket file left by a killed run. */
function listenUnix(server: net.Server, socketPath: string): Promise<void> {
  try {
    if (fs.lstatSync(socketPath).isSocket()) fs.unlinkSync(socketPath);
  } catch {
    // absent: nothing to clean
  }
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(new Error(`cannot listen on ${socketPath}: ${err.code ?? err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen(socketPath, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
}
