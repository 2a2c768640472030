/**
 * Joins what the control plane sends (LDS → RDS, CDS → EDS) into the running
 * configuration, as Envoy's listener and cluster managers do with their xDS
 * subscriptions:
 *
 * - every response is decoded and validated whole; any error NACKs it and nothing
 *   of it is applied (the last good config keeps serving);
 * - subscriptions follow references: RDS names from listeners, EDS names from clusters;
 * - warming: a new EDS cluster waits for its first assignment and a new listener for its
 *   routes, up to `initial_fetch_timeout` (0 = forever, as Istio configures);
 * - applying is make-before-break: clusters first, then listeners; unchanged resources keep
 *   their model objects, so nothing they own (connections, sockets) is rebuilt.
 *
 * Nothing here holds the event loop for long, so requests keep flowing while a push of thousands
 * of resources goes in: an update is validated in time slices (each changed resource decoded into
 * its model off to the side), then committed in one synchronous step, or rejected with nothing
 * committed; applying builds the new clusters in slices too (`ClusterManager.reconcileInSlices`)
 * and swaps them in at once. Updates are validated and committed one at a time, in call order,
 * and applies run one at a time, each from the state committed when it starts.
 */
import { createHash } from 'node:crypto';
import { logger } from '../common/logger';
import { TimeSlicer, nextTurn } from '../common/time-slices';
import type { ListenerManager, ListenerSpec } from '../listener/listener-manager';
import type { AdsConfigModel, BootstrapModel, ClusterModel, EndpointModel, FileSourceModel, ListenerModel, RouteConfigModel } from '../snapshot/model';
import { listenerChains } from '../snapshot/model';
import type { ClusterManager } from '../upstream/cluster-manager';
import { decodeXdsResource } from './resources/decode-resource';
import { DecodeContext, formatIssue, type ProtoObj } from './resources/decode-context';
import { FileSubscription } from './file-subscription';
import { startApiSubscriber, type XdsTransport } from './xds-transport';
import { controlPlaneStats, subscriptionStats } from '../stats';
import { TYPE } from './type-urls';
import type { AcceptedResource, RejectedUpdate } from './xds-state';

const log = logger('config');

/** One added or changed resource. */
export interface XdsChange {
  readonly resource: ProtoObj;
  readonly version: string;
  /** Digest of the resource's bytes as received (ADS); absent for file subscriptions. */
  readonly hash?: string;
}

/** A batch of resources for one type, as the transport hands it over. */
export interface XdsUpdate {
  /** Added or changed resources by name; without a `hash` the manager digests the decoded object. */
  readonly changed: ReadonlyMap<string, XdsChange>;
  readonly removed: readonly string[];
  readonly version: string;
  /** SotW LDS/CDS: the response was the complete set (its removals are already in `removed`). */
  readonly isFullState: boolean;
}

/** What the manager needs from the transport. */
export interface XdsSubscriber {
  subscribe(typeUrl: string, names: 'wildcard' | readonly string[]): void;
}

/** Updates with more changed resources than this start on a fresh event-loop turn. */
const BIG_UPDATE = 16;

/** One changed resource, validated and decoded, waiting for the commit. */
type Decoded = AcceptedResource<unknown>;

const EMPTY_ROUTES = (name: string): RouteConfigModel => ({
  name, virtualHosts: [], ignorePortInHostMatching: false, requestHeaders: { add: [], remove: [] }, responseHeaders: { add: [], remove: [] },
});

export class XdsManager {
  readonly listeners = new Map<string, AcceptedResource<ListenerModel>>();
  readonly clusters = new Map<string, AcceptedResource<ClusterModel>>();
  readonly routes = new Map<string, AcceptedResource<RouteConfigModel>>();
  readonly endpoints = new Map<string, AcceptedResource<EndpointModel[]>>();
  /** Last rejected update per `typeUrl|name` (config_dump error_state). */
  readonly rejected = new Map<string, RejectedUpdate>();
  /** Version of the last accepted response per type. */
  readonly versions = new Map<string, string>();
  private readonly received = new Set<string>();
  /** `typeUrl|name` whose initial fetch timed out: warming ends without them. */
  private readonly timedOut = new Set<string>();
  private readonly fetchTimers = new Map<string, NodeJS.Timeout>();
  private subscriber: XdsSubscriber | undefined;
  private readonly files: FileSubscription[] = [];
  /** Per-type gRPC streams (api_config_source), by `typeUrl|source`; kept open (with no interest) when unreferenced. */
  private readonly apiClients = new Map<string, XdsTransport | undefined>();
  /** RDS/EDS files referenced by the current listeners and clusters, by `typeUrl|path|watched dir`. */
  private readonly referencedFiles = new Map<string, FileSubscription>();
  /** The update being validated/committed: the next one starts after it. */
  private updating: Promise<unknown> = Promise.resolve();
  /** The apply in progress (or done); applies run one after another. */
  private applying: Promise<void> = Promise.resolve();
  /** An apply is queued and has not started: later commits are picked up by it. */
  private applyQueued = false;
  private readyResolve!: () => void;
  /** Resolves once the initial LDS/CDS responses are in and nothing is warming. */
  readonly ready: Promise<void> = new Promise((r) => (this.readyResolve = r));
  private isReady = false;
  /** The initial configuration is serving, health-check warming included: later clusters warm. */
  private initialized = false;
  private closed = false;
  /** `cluster_manager.cds.*` and `listener_manager.lds.*` (Envoy's subscription stats). */
  private readonly subscriptionStats = new Map<string, ReturnType<typeof subscriptionStats>>([
    [TYPE.cluster, subscriptionStats('cluster_manager.cds.')],
    [TYPE.listener, subscriptionStats('listener_manager.lds.')],
  ]);
  private readonly controlPlane = controlPlaneStats();
  /** Types whose latest response onUpdate counted, so the ACK/NACK that follows is not counted twice. */
  private readonly countedTypes = new Set<string>();

  constructor(
    private readonly bootstrap: BootstrapModel,
    private readonly clusterManager: ClusterManager,
    private readonly listenerManager: Pick<ListenerManager, 'apply' | 'specOf'>,
  ) {}

  /**
   * Starts subscribing: LDS and CDS wildcard (as Envoy always does) through ADS or from
   * files, then whatever they reference through ADS.
   */
  start(subscriber: XdsSubscriber | undefined): void {
    this.subscriber = subscriber;
    const d = this.bootstrap.dynamic;
    for (const [src, type] of [[d?.cds, TYPE.cluster], [d?.lds, TYPE.listener]] as const) {
      if (!src) continue;
      if (src.kind === 'ads') subscriber?.subscribe(type, 'wildcard');
      else if (src.kind === 'api') this.apiSubscriber(type, src.api)?.subscribe(type, 'wildcard');
      else {
        const fileSub = new FileSubscription(src.path, type, this, src.watchedDirectory);
        this.files.push(fileSub);
        fileSub.start();
      }
    }
    this.scheduleApply();
  }

  close(): void {
    this.closed = true;
    for (const f of this.files) f.close();
    for (const f of this.referencedFiles.values()) f.close();
    for (const c of this.apiClients.values()) c?.close();
    for (const t of this.fetchTimers.values()) clearTimeout(t);
  }

  /**
   * Validates and commits one response. Resolves to [] to ACK, or to the errors to NACK with
   * (each naming the resource and the field), in which case nothing was applied. Resolves once
   * the update is committed (applying it follows on its own), after several event-loop turns
   * for a big one. Calls are handled one at a time, in call order.
   */
  onUpdate(typeUrl: string, update: XdsUpdate): Promise<string[]> {
    const result = this.updating.then(() => this.validateAndCommit(typeUrl, update));
    this.updating = result.catch(() => undefined);
    return result.then((errors) => {
      this.countUpdate(typeUrl, errors);
      return errors;
    });
  }

  /** `update_attempt/success/rejected` of the response just decided. */
  private countUpdate(typeUrl: string, errors: readonly string[]): void {
    const st = this.subscriptionStats.get(typeUrl);
    if (st) {
      st.update_attempt++;
      if (errors.length) st.update_rejected++;
      else {
        st.update_success++;
        st.update_time = Date.now();
      }
    }
    this.countedTypes.add(typeUrl);
  }

  /**
   * ADS hook: an ACK or NACK was sent. Responses rejected before reaching {@link onUpdate}
   * (undecodable resources) are counted here; the others were counted by onUpdate.
   */
  onAckSent(typeUrl: string, rejected: boolean): void {
    if (this.countedTypes.delete(typeUrl)) return;
    const st = this.subscriptionStats.get(typeUrl);
    if (!st) return;
    st.update_attempt++;
    if (rejected) st.update_rejected++;
    else st.update_success++;
  }

  /** ADS hook: `control_plane.connected_state` (1 while a stream to the management server is up). */
  onConnectionState(connected: boolean): void {
    this.controlPlane.connected_state = connected ? 1 : 0;
  }

  // === Validating and committing ===

  private async validateAndCommit(typeUrl: string, update: XdsUpdate): Promise<string[]> {
    const target = this.mapFor(typeUrl) as Map<string, AcceptedResource<unknown>> | undefined;
    if (!target) return [`unsupported resource type ${typeUrl}`];
    // A big update is validated on turns of its own (the transport has just spent part of the
    // current one on the response), and committed on another, which the transport's own
    // bookkeeping and the ACK then share.
    const big = update.changed.size > BIG_UPDATE;
    if (big) await nextTurn();
    const { decoded, errors, rejected } = await this.validateAll(typeUrl, update, target);
    if (big) await nextTurn();
    // The commit (or the rejection record) is one synchronous step: nothing else is validated
    // meanwhile (updates are serialized), and readers never see half an update.
    if (errors.length) {
      for (const [name, r] of rejected) this.rejected.set(`${typeUrl}|${name}`, r);
      log.warn(`rejecting ${shortType(typeUrl)} update ${update.version}: ${errors.join('; ')}`);
      return errors;
    }
    this.commit(typeUrl, target, update, decoded);
    return [];
  }

  /** Validates every changed resource, in time slices; nothing is committed. */
  private async validateAll(
    typeUrl: string,
    update: XdsUpdate,
    target: ReadonlyMap<string, Decoded>,
  ): Promise<{ decoded: Map<string, Decoded>; errors: string[]; rejected: Map<string, RejectedUpdate> }> {
    const now = new Date();
    const slicer = new TimeSlicer();
    const decoded = new Map<string, Decoded>();
    const errors: string[] = [];
    const rejected = new Map<string, RejectedUpdate>();
    for (const [name, change] of update.changed) {
      if (slicer.due) await slicer.yield();
      const outcome = this.validate(typeUrl, name, change, target.get(name), now);
      if ('errors' in outcome) {
        errors.push(...outcome.errors);
        rejected.set(name, { details: outcome.errors.join('; '), version: update.version, lastUpdateAttempt: now, failedConfiguration: change.resource });
      } else decoded.set(name, outcome);
    }
    return { decoded, errors, rejected };
  }

  /**
   * One changed resource: the accepted copy already held when its digest is unchanged (only the
   * version moves), else its freshly decoded model, or the errors that reject the update.
   */
  private validate(typeUrl: string, name: string, change: XdsChange, prev: Decoded | undefined, now: Date): Decoded | { errors: string[] } {
    // The transport's digest of the bytes when it has one: re-serializing the decoded object to
    // hash it would cost about as much as decoding it.
    const hash = change.hash ?? digestOf(change.resource);
    if (prev && prev.hash === hash) return { ...prev, version: change.version };
    const ctx = new DecodeContext();
    const model = this.decode(typeUrl, name, change.resource, ctx);
    const issue = (i: { path: string; message: string }): string => `${shortType(typeUrl)} "${name}": ${formatIssue({ path: i.path.replace(/^\./, ''), message: i.message })}`;
    for (const w of ctx.warnings) log.warn(issue(w));
    if (!ctx.ok) return { errors: ctx.errors.map(issue) };
    return { name, model, proto: change.resource, hash, version: change.version, lastUpdated: now };
  }

  /**
   * Commits a validated update: the whole response or nothing. For SotW LDS/CDS the transport has
   * already turned "missing from the complete set" into `removed` (unchanged resources are left
   * out of `changed`).
   */
  private commit(typeUrl: string, target: Map<string, AcceptedResource<unknown>>, update: XdsUpdate, decoded: ReadonlyMap<string, Decoded>): void {
    for (const name of update.removed) target.delete(name);
    for (const [name, r] of decoded) {
      target.set(name, r);
      this.rejected.delete(`${typeUrl}|${name}`);
    }
    this.versions.set(typeUrl, update.version);
    this.received.add(typeUrl);
    this.scheduleApply();
  }

  // === Applying ===

  /**
   * Queues an apply of everything committed so far. Commits made before a queued apply starts
   * are picked up by it (a burst of responses costs one apply, not one each).
   */
  private scheduleApply(): void {
    if (this.applyQueued) return;
    this.applyQueued = true;
    this.applying = this.applying.then(() => this.apply()).catch((err: Error) => log.error(`applying xDS config failed: ${err.stack ?? err.message}`));
  }

  /**
   * Brings the cluster and listener managers to the committed state, as one snapshot taken when
   * the apply starts: subscriptions follow the references, warming resources keep what is serving,
   * clusters are reconciled (in slices) before listeners, so a route never points at a cluster
   * that is not there yet.
   */
  private async apply(): Promise<void> {
    // A turn of its own: the commit that queued this may have used most of the current one.
    await nextTurn();
    // The snapshot is taken now: a commit from here on queues the next apply.
    this.applyQueued = false;
    if (this.closed) return;
    const slicer = new TimeSlicer();
    const listenerModels = [...this.bootstrap.listeners, ...[...this.listeners.values()].map((r) => r.model)];
    const clusterModels = [...this.bootstrap.clusters, ...[...this.clusters.values()].map((r) => r.model)];
    this.followReferences(listenerModels, clusterModels);
    const clusters = this.activeClusters(clusterModels);
    const listeners = this.listenerSpecs(listenerModels);

    await this.clusterManager.reconcileInSlices(clusters.active, slicer, { warmHealthChecked: this.initialized });
    const bindErrors = await this.listenerManager.apply(listeners.specs);
    for (const e of bindErrors) log.error(e);

    const d = this.bootstrap.dynamic;
    const initialDone = (!d?.lds || this.received.has(TYPE.listener)) && (!d?.cds || this.received.has(TYPE.cluster));
    if (!this.isReady && initialDone && clusters.warming + listeners.warming === 0) {
      this.isReady = true;
      // Envoy's cluster init also waits for the first health check of every initial host of a
      // health-checked cluster (ClusterImplBase::onPreInitComplete); the apply chain does not wait.
      void this.clusterManager.initialized().then(() => {
        this.initialized = true;
        log.info('initial xDS configuration applied');
        this.readyResolve();
      });
    }
  }

  /**
   * Subscriptions follow references: RDS names from listeners, EDS names from clusters, through
   * ADS, or by reading the file their config source names.
   */
  private followReferences(listenerModels: readonly ListenerModel[], clusterModels: readonly ClusterModel[]): void {
    const rdsNames = new Set<string>();
    const apiNames = new Map<string, { typeUrl: string; api: AdsConfigModel; names: Set<string> }>();
    const wantApi = (typeUrl: string, api: AdsConfigModel, name: string): void => {
      const key = apiKey(typeUrl, api);
      let entry = apiNames.get(key);
      if (!entry) apiNames.set(key, (entry = { typeUrl, api, names: new Set() }));
      entry.names.add(name);
    };
    const files = new Map<string, { typeUrl: string; file: FileSourceModel }>();
    const wantFile = (typeUrl: string, file: FileSourceModel): void => {
      files.set(`${typeUrl}|${file.path}|${file.watchedDirectory ?? ''}`, { typeUrl, file });
    };
    for (const l of listenerModels) {
      for (const fc of listenerChains(l)) {
        const src = fc.hcm?.routeSource;
        if (src?.kind !== 'rds') continue;
        if (src.file) wantFile(TYPE.routeConfig, src.file);
        else if (src.api) wantApi(TYPE.routeConfig, src.api, src.name);
        else rdsNames.add(src.name);
      }
    }
    const edsNames = new Set<string>();
    for (const c of clusterModels) {
      if (c.type !== 'EDS' || !c.edsServiceName) continue;
      if (c.edsFile) wantFile(TYPE.endpoints, c.edsFile);
      else if (c.edsApi) wantApi(TYPE.endpoints, c.edsApi, c.edsServiceName);
      else edsNames.add(c.edsServiceName);
    }
    this.subscriber?.subscribe(TYPE.routeConfig, [...rdsNames].sort());
    this.subscriber?.subscribe(TYPE.endpoints, [...edsNames].sort());
    this.syncFileSubscriptions(files);
    // Per-type streams: each source gets the names referencing it; one no longer referenced keeps
    // its stream with no interest (`[]`), as an ADS type does.
    for (const [key, client] of this.apiClients) {
      const typeUrl = key.slice(0, key.indexOf('|'));
      if ((typeUrl === TYPE.routeConfig || typeUrl === TYPE.endpoints) && !apiNames.has(key)) client?.subscribe(typeUrl, []);
    }
    for (const { typeUrl, api, names } of apiNames.values()) this.apiSubscriber(typeUrl, api)?.subscribe(typeUrl, [...names].sort());
  }

  /**
   * The stream of a per-type `api_config_source` for `typeUrl`, started on first use. Undefined
   * (logged once) when it cannot be: e.g. its cluster is not a static cluster of the bootstrap;
   * what references it then warms until its initial_fetch_timeout.
   */
  private apiSubscriber(typeUrl: string, api: AdsConfigModel): XdsTransport | undefined {
    const key = apiKey(typeUrl, api);
    if (this.apiClients.has(key)) return this.apiClients.get(key);
    let client: XdsTransport | undefined;
    try {
      client = startApiSubscriber(this.bootstrap, api, typeUrl, this);
    } catch (err) {
      log.error(`${shortType(typeUrl)} api_config_source: ${(err as Error).message}`);
    }
    this.apiClients.set(key, client);
    return client;
  }

  /** Starts a subscription for each newly referenced RDS/EDS file; stops those no longer referenced. */
  private syncFileSubscriptions(wanted: ReadonlyMap<string, { typeUrl: string; file: FileSourceModel }>): void {
    for (const [key, sub] of this.referencedFiles) {
      if (wanted.has(key)) continue;
      sub.close();
      this.referencedFiles.delete(key);
    }
    for (const [key, { typeUrl, file }] of wanted) {
      if (this.referencedFiles.has(key)) continue;
      const sub = new FileSubscription(file.path, typeUrl, this, file.watchedDirectory);
      this.referencedFiles.set(key, sub);
      sub.start();
    }
  }

  /**
   * The cluster models to serve: EDS clusters with their endpoints once known; a cluster still
   * warming (no assignment yet, no timeout) keeps the version serving, if any.
   */
  private activeClusters(clusterModels: readonly ClusterModel[]): { active: ClusterModel[]; warming: number } {
    let warming = 0;
    const active: ClusterModel[] = [];
    for (const c of clusterModels) {
      if (c.type !== 'EDS') {
        active.push(c);
        continue;
      }
      const svc = c.edsServiceName ?? c.name;
      const cla = this.endpoints.get(svc);
      if (cla) active.push(cla.model === c.endpoints ? c : withEndpoints(c, cla.model));
      else if (this.timedOut.has(`${TYPE.endpoints}|${svc}`)) active.push(c);
      else {
        warming++;
        this.armFetchTimer(TYPE.endpoints, svc, c.edsInitialFetchTimeoutMs);
        const current = this.clusterManager.get(c.name);
        if (current) active.push(current.model);
      }
    }
    return { active, warming };
  }

  /** Each listener with its routes; a listener warms (keeping the version serving) until its RDS arrives. */
  private listenerSpecs(listenerModels: readonly ListenerModel[]): { specs: ListenerSpec[]; warming: number } {
    let warming = 0;
    const specs: ListenerSpec[] = [];
    for (const l of listenerModels) {
      // Every HTTP chain's routes (inline or RDS), aligned with listenerChains(l); TCP chains have none.
      const routeConfigs: (RouteConfigModel | undefined)[] = [];
      let missing = false;
      for (const fc of listenerChains(l)) {
        const src = fc.hcm?.routeSource;
        if (!src) routeConfigs.push(undefined);
        else if (src.kind === 'inline') routeConfigs.push(src.config);
        else {
          const rc = this.routes.get(src.name);
          if (rc) routeConfigs.push(rc.model);
          else if (this.timedOut.has(`${TYPE.routeConfig}|${src.name}`)) routeConfigs.push(EMPTY_ROUTES(src.name));
          else {
            missing = true;
            this.armFetchTimer(TYPE.routeConfig, src.name, src.initialFetchTimeoutMs);
          }
        }
      }
      if (!missing) {
        specs.push({ model: l, routeConfigs });
        continue;
      }
      warming++;
      const current = this.listenerManager.specOf(l.name);
      if (current) specs.push(current);
    }
    return { specs, warming };
  }

  /** Starts the initial_fetch_timeout for a referenced resource that has not arrived. */
  private armFetchTimer(typeUrl: string, name: string, timeoutMs: number): void {
    const key = `${typeUrl}|${name}`;
    if (timeoutMs <= 0 || this.fetchTimers.has(key) || this.timedOut.has(key)) return;
    const t = setTimeout(() => {
      log.warn(`${shortType(typeUrl)} "${name}" did not arrive within initial_fetch_timeout (${timeoutMs} ms); warming ends without it`);
      this.timedOut.add(key);
      this.scheduleApply();
    }, timeoutMs);
    t.unref();
    this.fetchTimers.set(key, t);
  }

  private mapFor(typeUrl: string): Map<string, AcceptedResource<any>> | undefined {
    switch (typeUrl) {
      case TYPE.listener: return this.listeners;
      case TYPE.cluster: return this.clusters;
      case TYPE.routeConfig: return this.routes;
      case TYPE.endpoints: return this.endpoints;
      default: return undefined;
    }
  }

  private decode(typeUrl: string, name: string, r: ProtoObj, ctx: DecodeContext): unknown {
    try {
      return decodeXdsResource(typeUrl, name, r, ctx);
    } catch (err) {
      // A decoder bug must cost a NACK naming the resource, never the process.
      ctx.error('', `internal error while decoding: ${(err as Error).message}`);
      return undefined;
    }
  }
}

export { staticResourcesUseDiscovery } from './uses-discovery';

function apiKey(typeUrl: string, api: AdsConfigModel): string {
  return `${typeUrl}|${JSON.stringify(api)}`;
}

function withEndpoints(c: ClusterModel, endpoints: readonly EndpointModel[]): ClusterModel {
  return { ...c, endpoints };
}

function shortType(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}

/** Digest of a decoded resource (for updates that did not arrive as bytes). */
function digestOf(resource: ProtoObj): string {
  return createHash('sha1').update(JSON.stringify(resource, bufferAware)).digest('hex');
}

function bufferAware(_key: string, v: unknown): unknown {
  return v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? (v as { data: number[] }).data.join(',') : v;
}
