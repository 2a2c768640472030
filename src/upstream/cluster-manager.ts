import { TimeSlicer, runInSlices, runToCompletion } from '../common/time-slices';
import type { ClusterModel } from '../snapshot/model';
import { Cluster, type ClusterOptions } from './cluster';

export interface ReconcileOptions {
  /**
   * New or changed clusters with active health checks wait for their first checks before
   * serving (Envoy warms clusters added after the cluster manager initialized; during
   * initialization the server's readiness waits for them instead).
   */
  readonly warmHealthChecked?: boolean;
}

/**
 * Owns every cluster by name. Reconciling a new set of cluster models keeps the
 * Cluster objects (and their hosts and connections) whose config hash did not change.
 *
 * A reconcile is a sequence of steps ({@link reconcileSteps}) that can run in one go (startup:
 * {@link reconcile}) or spread over event-loop turns ({@link reconcileInSlices}: an xDS push of
 * 1,000 clusters costs tens of ms of Cluster/Host construction, more than a request should wait).
 * Either way the router sees the old cluster map until one synchronous swap installs the new one.
 */
export class ClusterManager {
  private clusters = new Map<string, Cluster>();
  /**
   * Envoy's warming clusters: built by an xDS update after initialization, health-checked, and
   * waiting for the first check of each host. The router keeps seeing the version they replace
   * (or no cluster of that name) until they are promoted.
   */
  private readonly warming = new Map<string, Cluster>();
  /** The sliced reconcile in progress, if any: the next one starts after it (they diff against the map it installs). */
  private reconciling: Promise<void> = Promise.resolve();
  private destroyed = false;

  /** @param clusterOptions how every cluster is built (the `--concurrency` primary and workers set hooks). */
  constructor(private readonly clusterOptions: ClusterOptions = {}) {}

  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  all(): Cluster[] {
    return [...this.clusters.values()];
  }

  /** Diff and retain, in one synchronous run (startup, where there is nothing to yield to). */
  reconcile(models: readonly ClusterModel[]): void {
    runToCompletion(this.reconcileSteps(models));
  }

  /**
   * Same as {@link reconcile}, yielding to the event loop between clusters. Calls are queued:
   * each starts from the map the previous one installed. Resolves once the new map is in
   * service and the clusters it dropped are stopped.
   * @param slicer the caller's slice clock, when it has used part of the current slice already.
   */
  reconcileInSlices(models: readonly ClusterModel[], slicer: TimeSlicer = new TimeSlicer(), options: ReconcileOptions = {}): Promise<void> {
    const run = this.reconciling.then(() => runInSlices(this.reconcileSteps(models, options.warmHealthChecked === true), slicer));
    // A failure belongs to this caller; the next reconcile still runs.
    this.reconciling = run.catch(() => undefined);
    return run;
  }

  /**
   * The reconcile, one cluster per step:
   *
   * 1. Build: unchanged clusters are kept (only their endpoints may differ, and those are updated
   *    in place: each cluster switches its host set at once, as one EDS update does in Envoy);
   *    changed or new ones are constructed off to the side, not yet reachable by the router.
   * 2. Swap: the new map replaces the old one in one step, so no request ever sees a mix of the
   *    two cluster sets (never sliced).
   * 3. Stop what the new map dropped. Requests in flight hold their own Cluster/Host references
   *    and finish on them; stopping only drains idle connections.
   */
  private *reconcileSteps(models: readonly ClusterModel[], warm = false): Generator<void> {
    const next = new Map<string, Cluster>();
    for (const m of models) {
      next.set(m.name, this.keepOrBuild(m));
      yield;
      if (this.destroyed) {
        // Shut down between slices: nobody else knows of the clusters built off to the side.
        for (const [name, c] of next) if (this.clusters.get(name) !== c) c.destroy();
        return;
      }
    }
    const previous = this.clusters;
    // A warming cluster the new config no longer has (dropped, or changed again) is discarded.
    for (const [name, c] of this.warming) {
      if (next.get(name) === c) continue;
      this.warming.delete(name);
      c.stop();
    }
    if (warm) {
      for (const [name, c] of next) {
        if (previous.get(name) === c || !c.healthChecker || c.isInitialized) continue;
        // Serve what was there until the first checks are in (Envoy: warming_clusters_).
        this.warming.set(name, c);
        const old = previous.get(name);
        if (old) next.set(name, old);
        else next.delete(name);
        void c.initialized.then(() => this.promote(name, c));
      }
    }
    this.clusters = next;
    for (const [name, c] of previous) {
      if (next.get(name) === c) continue;
      c.stop();
      yield;
    }
  }

  /** A warming cluster had its first health checks: it replaces the version serving. */
  private promote(name: string, c: Cluster): void {
    if (this.warming.get(name) !== c || this.destroyed) return;
    this.warming.delete(name);
    const old = this.clusters.get(name);
    const next = new Map(this.clusters);
    next.set(name, c);
    this.clusters = next;
    if (old && old !== c) old.stop();
  }

  /** The existing cluster when its config is unchanged (endpoints brought up to date), else a new one. */
  private keepOrBuild(m: ClusterModel): Cluster {
    // The warming version first (it is the newest), then the one serving.
    for (const prev of [this.warming.get(m.name), this.clusters.get(m.name)]) {
      if (prev === undefined || prev.model.hash !== m.hash) continue;
      // Same cluster config: keep it (and its connections); only the endpoints may differ.
      if (prev.model.endpoints !== m.endpoints) prev.updateEndpoints(m);
      return prev;
    }
    return new Cluster(m, this.clusterOptions);
  }

  /** Resolves when every cluster has its first host list. */
  async initialized(): Promise<void> {
    await Promise.all([...this.clusters.values(), ...this.warming.values()].map((c) => c.initialized));
  }

  destroy(): void {
    this.destroyed = true;
    for (const c of this.warming.values()) c.destroy();
    this.warming.clear();
    for (const c of this.clusters.values()) c.destroy();
  }
}
