/**
 * Owns the bound listeners and applies a new set of listener configs the way Envoy's
 * listener manager does: unchanged listeners are kept; a listener whose filter chain
 * or routes changed keeps its socket and gets a new connection manager (in-flight
 * streams finish on the old one); an address change binds a new socket and drains
 * the old one; a removed listener drains and closes.
 */
import { logger } from '../common/logger';
import { HttpConnectionManager } from '../http/connection-manager';
import type { ListenerModel, RouteConfigModel } from '../snapshot/model';
import { formatAddress } from '../snapshot/model';
import type { ClusterManager } from '../upstream/cluster-manager';
import { Listener } from './listener';

const log = logger('config');

/** A listener config with its routes resolved (inline or from RDS). */
export interface ListenerSpec {
  readonly model: ListenerModel;
  readonly routeConfig: RouteConfigModel;
}

interface Active {
  listener: Listener;
  spec: ListenerSpec;
}

export class ListenerManager {
  private readonly active = new Map<string, Active>();
  private readonly draining = new Set<Listener>();

  constructor(
    private readonly clusters: ClusterManager,
    private readonly flushIntervalMs: number,
    private readonly drainTimeMs: number,
  ) {}

  /** Applies the full set of listeners; returns one error line per listener that could not bind. */
  async apply(specs: readonly ListenerSpec[]): Promise<string[]> {
    const errors: string[] = [];
    const wanted = new Set(specs.map((s) => s.model.name));
    for (const [name, a] of this.active) {
      if (!wanted.has(name)) {
        log.info(`listener ${name} removed: draining`);
        this.active.delete(name);
        this.retire(a.listener);
      }
    }
    await Promise.all(specs.map(async (spec) => {
      const name = spec.model.name;
      const prev = this.active.get(name);
      if (prev && prev.spec.model === spec.model && prev.spec.routeConfig === spec.routeConfig) return;
      const fc = spec.model.filterChains[0];
      if (!fc) return;
      if (prev && sameSocket(prev.spec.model, spec.model)) {
        prev.listener.swapConnectionManager(new HttpConnectionManager(fc.hcm, spec.routeConfig, this.clusters, this.flushIntervalMs, spec.model.trafficDirection));
        prev.spec = spec;
        log.debug(`listener ${name} updated in place`);
        return;
      }
      const listener = new Listener(spec.model, new HttpConnectionManager(fc.hcm, spec.routeConfig, this.clusters, this.flushIntervalMs, spec.model.trafficDirection));
      try {
        await listener.bind();
      } catch (err) {
        errors.push((err as Error).message);
        return;
      }
      log.info(`listener ${name} bound to ${listener.boundAddress}`);
      this.active.set(name, { listener, spec });
      if (prev) this.retire(prev.listener);
    }));
    return errors;
  }

  /** The config a listener is currently serving with. */
  specOf(name: string): ListenerSpec | undefined {
    return this.active.get(name)?.spec;
  }

  all(): Listener[] {
    return [...this.active.values()].map((a) => a.listener);
  }

  get(name: string): Listener | undefined {
    return this.active.get(name)?.listener;
  }

  /** Streams still in flight on every listener, draining ones included. */
  get activeStreams(): number {
    let n = 0;
    for (const l of this.everyListener()) n += l.activeStreams;
    return n;
  }

  get activeConnections(): number {
    let n = 0;
    for (const l of this.everyListener()) n += l.activeConnections;
    return n;
  }

  drainAll(): void {
    for (const l of this.everyListener()) l.drain();
  }

  /** Admin /drain_listeners: drains the active listeners `which` selects (by their model). */
  drainWhere(which: (model: ListenerModel) => boolean): void {
    for (const a of this.active.values()) if (which(a.listener.model)) a.listener.drain();
  }

  closeAll(): void {
    for (const l of this.everyListener()) l.close();
  }

  private *everyListener(): Iterable<Listener> {
    for (const a of this.active.values()) yield a.listener;
    yield* this.draining;
  }

  /** Drains a listener, closing what is left after the drain time. */
  private retire(l: Listener): void {
    this.draining.add(l);
    l.drain();
    const deadline = Date.now() + this.drainTimeMs;
    const check = setInterval(() => {
      if (l.activeConnections === 0 || Date.now() >= deadline) {
        clearInterval(check);
        l.close();
        this.draining.delete(l);
      }
    }, 200);
    check.unref();
  }
}

function sameSocket(a: ListenerModel, b: ListenerModel): boolean {
  return formatAddress(a.address) === formatAddress(b.address) && a.filterChains[0]?.hcm.codec === b.filterChains[0]?.hcm.codec;
}
