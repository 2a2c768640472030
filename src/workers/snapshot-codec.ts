/**
 * A configuration snapshot as it travels from the primary to a worker, without resending what
 * the worker already holds.
 *
 * The runtime keeps objects whose model did not change (ListenerManager compares listener and
 * route models by identity; ClusterManager keeps clusters by config hash and compares endpoint
 * lists by identity). A model copied over IPC is a new object every time, so each model is sent
 * once with an id; later snapshots refer to it by id, and the worker hands the same object to
 * its managers again. Each worker keeps exactly the models of its latest snapshot.
 */
import type { ListenerSpec } from '../listener/listener-manager';
import type { ClusterModel, ListenerModel, RouteConfigModel } from '../snapshot/model';

/** What the primary applied: the clusters (in reconcile order) and the listeners with their routes. */
export interface AppliedSnapshot {
  readonly clusters: readonly ClusterModel[];
  /** New health-checked clusters wait for their first checks (after the initial config). */
  readonly warmHealthChecked: boolean;
  readonly listeners: readonly ListenerSpec[];
}

/** A model: its id, and the model itself unless the worker holds it. */
export interface Ref<T> {
  readonly id: number;
  readonly v?: T;
}

export interface EncodedSnapshot {
  readonly clusters: ReadonlyArray<Ref<ClusterModel>>;
  readonly warmHealthChecked: boolean;
  readonly listeners: ReadonlyArray<{ readonly model: Ref<ListenerModel>; readonly routeConfigs: ReadonlyArray<Ref<RouteConfigModel> | null> }>;
}

/** Ids of model objects, shared by every worker's encoder (the same object has the same id). */
const ids = new WeakMap<object, number>();
let nextId = 1;

function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}

/** The primary's side, one per worker: knows which models that worker holds. */
export class SnapshotEncoder {
  private held = new Set<number>();

  encode(s: AppliedSnapshot): EncodedSnapshot {
    const sent = new Set<number>();
    const ref = <T extends object>(o: T): Ref<T> => {
      const id = idOf(o);
      // Within one message the serializer keeps shared references itself: send each object once.
      const r = this.held.has(id) || sent.has(id) ? { id } : { id, v: o };
      sent.add(id);
      return r;
    };
    const encoded: EncodedSnapshot = {
      clusters: s.clusters.map(ref),
      warmHealthChecked: s.warmHealthChecked,
      listeners: s.listeners.map((l) => ({ model: ref(l.model), routeConfigs: l.routeConfigs.map((r) => (r ? ref(r) : null)) })),
    };
    this.held = sent;
    return encoded;
  }
}

/** The worker's side: resolves references to the objects it received before. */
export class SnapshotDecoder {
  private held = new Map<number, object>();

  decode(e: EncodedSnapshot): AppliedSnapshot {
    const next = new Map<number, object>();
    const resolve = <T extends object>(r: Ref<T>): T => {
      const o = (r.v ?? next.get(r.id) ?? this.held.get(r.id)) as T | undefined;
      if (o === undefined) throw new Error(`snapshot refers to model #${r.id}, which this worker does not hold`);
      next.set(r.id, o);
      return o;
    };
    const snapshot: AppliedSnapshot = {
      clusters: e.clusters.map(resolve),
      warmHealthChecked: e.warmHealthChecked,
      listeners: e.listeners.map((l) => ({ model: resolve(l.model), routeConfigs: l.routeConfigs.map((r) => (r ? resolve(r) : undefined)) })),
    };
    this.held = next;
    return snapshot;
  }
}
