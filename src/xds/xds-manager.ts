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
 */
import { createHash } from 'node:crypto';
import { logger } from '../common/logger';
import type { ListenerManager, ListenerSpec } from '../listener/listener-manager';
import type { BootstrapModel, ClusterModel, EndpointModel, ListenerModel, RouteConfigModel } from '../snapshot/model';
import type { ClusterManager } from '../upstream/cluster-manager';
import { decodeCluster, decodeLoadAssignment } from './resources/cluster';
import { DecodeContext, formatIssue, type ProtoObj } from './resources/decode-context';
import { decodeListener } from './resources/listener';
import { decodeRouteConfig } from './resources/route-config';
import { FileSubscription } from './file-subscription';
import { controlPlaneStats, subscriptionStats } from '../stats';
import { TYPE } from './type-urls';
import type { AcceptedResource, RejectedUpdate } from './xds-state';

const log = logger('config');

/** A batch of resources for one type, as the transport hands it over. */
export interface XdsUpdate {
  readonly changed: ReadonlyMap<string, { readonly resource: ProtoObj; readonly version: string }>;
  readonly removed: readonly string[];
  readonly version: string;
  /** SotW LDS/CDS: the response was the complete set (its removals are already in `removed`). */
  readonly isFullState: boolean;
}

/** What the manager needs from the transport. */
export interface XdsSubscriber {
  subscribe(typeUrl: string, names: 'wildcard' | readonly string[]): void;
}

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
  private applying: Promise<void> = Promise.resolve();
  private readyResolve!: () => void;
  /** Resolves once the initial LDS/CDS responses are in and nothing is warming. */
  readonly ready: Promise<void> = new Promise((r) => (this.readyResolve = r));
  private isReady = false;
  private closed = false;
  /** `cluster_manager.cds.*` and `listener_manager.lds.*` (Envoy's subscription stats). */
  private readonly subscriptionStats = new Map<string, ReturnType<typeof subscriptionStats>>([
    [TYPE.cluster, subscriptionStats('cluster_manager.cds.')],
    [TYPE.listener, subscriptionStats('listener_manager.lds.')],
  ]);
  private readonly controlPlane = controlPlaneStats();
  /** Type of the response onUpdate just counted, so the ACK/NACK that follows is not counted twice. */
  private countedType: string | undefined;

  constructor(
    private readonly bootstrap: BootstrapModel,
    private readonly clusterManager: ClusterManager,
    private readonly listenerManager: ListenerManager,
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
      else {
        const fileSub = new FileSubscription(src.path, type, this);
        this.files.push(fileSub);
        fileSub.start();
      }
    }
    this.scheduleApply();
  }

  close(): void {
    this.closed = true;
    for (const f of this.files) f.close();
    for (const t of this.fetchTimers.values()) clearTimeout(t);
  }

  /**
   * Validates and commits one response. Returns [] to ACK, or the errors to NACK with
   * (each naming the resource and the field), in which case nothing was applied.
   */
  onUpdate(typeUrl: string, update: XdsUpdate): string[] {
    const errors = this.applyUpdate(typeUrl, update);
    const st = this.subscriptionStats.get(typeUrl);
    if (st) {
      st.update_attempt++;
      if (errors.length) st.update_rejected++;
      else {
        st.update_success++;
        st.update_time = Date.now();
      }
    }
    this.countedType = typeUrl;
    return errors;
  }

  /**
   * ADS hook: an ACK or NACK was sent. Responses rejected before reaching {@link onUpdate}
   * (undecodable resources) are counted here; the others were counted by onUpdate.
   */
  onAckSent(typeUrl: string, rejected: boolean): void {
    const counted = this.countedType === typeUrl;
    this.countedType = undefined;
    if (counted) return;
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

  private applyUpdate(typeUrl: string, update: XdsUpdate): string[] {
    const now = new Date();
    const decoded = new Map<string, AcceptedResource<unknown>>();
    const errors: string[] = [];
    const target = this.mapFor(typeUrl) as Map<string, AcceptedResource<unknown>> | undefined;
    if (!target) return [`unsupported resource type ${typeUrl}`];
    for (const [name, { resource, version }] of update.changed) {
      const hash = createHash('sha1').update(JSON.stringify(resource, bufferAware)).digest('hex');
      const prev = target.get(name);
      if (prev && prev.hash === hash) {
        decoded.set(name, { ...prev, version });
        continue;
      }
      const ctx = new DecodeContext();
      const model = this.decode(typeUrl, name, resource, ctx);
      for (const w of ctx.warnings) log.warn(`${shortType(typeUrl)} "${name}": ${formatIssue({ path: w.path.replace(/^\./, ''), message: w.message })}`);
      if (!ctx.ok) {
        const details = ctx.errors.map((e) => `${shortType(typeUrl)} "${name}": ${formatIssue({ path: e.path.replace(/^\./, ''), message: e.message })}`);
        errors.push(...details);
        this.rejected.set(`${typeUrl}|${name}`, { details: details.join('; '), version: update.version, lastUpdateAttempt: now, failedConfiguration: resource });
        continue;
      }
      decoded.set(name, { name, model, proto: resource, hash, version, lastUpdated: now });
    }
    if (errors.length) {
      log.warn(`rejecting ${shortType(typeUrl)} update ${update.version}: ${errors.join('; ')}`);
      return errors;
    }
    // Commit: whole response or nothing. For SotW LDS/CDS the transport has already turned
    // "missing from the complete set" into `removed` (unchanged resources are left out of `changed`).
    for (const name of update.removed) target.delete(name);
    for (const [name, r] of decoded) {
      target.set(name, r);
      this.rejected.delete(`${typeUrl}|${name}`);
    }
    this.versions.set(typeUrl, update.version);
    this.received.add(typeUrl);
    this.scheduleApply();
    return [];
  }

  // === Applying ===

  private scheduleApply(): void {
    this.applying = this.applying.then(() => this.apply()).catch((err: Error) => log.error(`applying xDS config failed: ${err.stack ?? err.message}`));
  }

  private async apply(): Promise<void> {
    if (this.closed) return;
    const listenerModels = [...this.bootstrap.listeners, ...[...this.listeners.values()].map((r) => r.model)];
    const clusterModels = [...this.bootstrap.clusters, ...[...this.clusters.values()].map((r) => r.model)];

    // Subscriptions follow references.
    const rdsNames = new Set<string>();
    for (const l of listenerModels) for (const fc of l.filterChains) if (fc.hcm.routeSource.kind === 'rds') rdsNames.add(fc.hcm.routeSource.name);
    const edsNames = new Set<string>();
    for (const c of clusterModels) if (c.type === 'EDS' && c.edsServiceName) edsNames.add(c.edsServiceName);
    this.subscriber?.subscribe(TYPE.routeConfig, [...rdsNames].sort());
    this.subscriber?.subscribe(TYPE.endpoints, [...edsNames].sort());

    // Clusters first (make before break), EDS clusters once their endpoints are known.
    let warming = 0;
    const activeClusters: ClusterModel[] = [];
    for (const c of clusterModels) {
      if (c.type !== 'EDS') {
        activeClusters.push(c);
        continue;
      }
      const svc = c.edsServiceName ?? c.name;
      const cla = this.endpoints.get(svc);
      if (cla) activeClusters.push(cla.model === c.endpoints ? c : withEndpoints(c, cla.model));
      else if (this.timedOut.has(`${TYPE.endpoints}|${svc}`)) activeClusters.push(c);
      else {
        warming++;
        this.armFetchTimer(TYPE.endpoints, svc, c.edsInitialFetchTimeoutMs);
        const current = this.clusterManager.get(c.name);
        if (current) activeClusters.push(current.model);
      }
    }
    this.clusterManager.reconcile(activeClusters);

    // Then listeners, each with its routes; a listener warms until its RDS arrives.
    const specs: ListenerSpec[] = [];
    for (const l of listenerModels) {
      const src = l.filterChains[0]?.hcm.routeSource;
      if (!src) continue;
      if (src.kind === 'inline') {
        specs.push({ model: l, routeConfig: src.config });
        continue;
      }
      const rc = this.routes.get(src.name);
      if (rc) specs.push({ model: l, routeConfig: rc.model });
      else if (this.timedOut.has(`${TYPE.routeConfig}|${src.name}`)) specs.push({ model: l, routeConfig: EMPTY_ROUTES(src.name) });
      else {
        warming++;
        this.armFetchTimer(TYPE.routeConfig, src.name, src.initialFetchTimeoutMs);
        const current = this.listenerManager.specOf(l.name);
        if (current) specs.push(current);
      }
    }
    const bindErrors = await this.listenerManager.apply(specs);
    for (const e of bindErrors) log.error(e);

    const d = this.bootstrap.dynamic;
    const initialDone = (!d?.lds || this.received.has(TYPE.listener)) && (!d?.cds || this.received.has(TYPE.cluster));
    if (!this.isReady && initialDone && warming === 0) {
      this.isReady = true;
      log.info('initial xDS configuration applied');
      this.readyResolve();
    }
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
    switch (typeUrl) {
      case TYPE.listener: return decodeListener(r, '', ctx);
      case TYPE.cluster: return decodeCluster(r, '', ctx);
      case TYPE.routeConfig: {
        const rc = decodeRouteConfig(r, '', ctx);
        return rc.name ? rc : { ...rc, name };
      }
      case TYPE.endpoints: return decodeLoadAssignment(r, 'endpoints', ctx);
      default: return undefined;
    }
  }
}

function withEndpoints(c: ClusterModel, endpoints: readonly EndpointModel[]): ClusterModel {
  return { ...c, endpoints };
}

function shortType(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}

function bufferAware(_key: string, v: unknown): unknown {
  return v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? (v as { data: number[] }).data.join(',') : v;
}
