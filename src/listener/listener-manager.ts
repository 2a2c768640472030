/**
 * Owns the listeners and applies a new set of listener configs the way Envoy's
 * listener manager does: unchanged listeners are kept; a listener whose filter chains
 * or routes changed keeps its socket and gets new chains (HTTP chains in the same place keep
 * their connections and get a new connection manager; in-flight streams finish on the old one);
 * an address change binds a new socket and drains the old one; a removed listener drains and
 * closes. Listeners with bind_to_port false are not bound: they are found by address when a
 * use_original_dst listener hands a connection over (exact ip:port, else 0.0.0.0:port).
 */
import { logger } from '../common/logger';
import type { ListenerModel, RouteConfigModel } from '../snapshot/model';
import { formatAddress, listenerChains } from '../snapshot/model';
import type { ClusterManager } from '../upstream/cluster-manager';
import { FilterChains } from './filter-chains';
import { Listener } from './listener';

const log = logger('config');

/** A listener config with the routes of each HTTP chain resolved (inline or from RDS). */
export interface ListenerSpec {
  readonly model: ListenerModel;
  /** Aligned with listenerChains(model); undefined for TCP chains. */
  readonly routeConfigs: readonly (RouteConfigModel | undefined)[];
}

/** A static listener's inline routes per chain, or undefined when a chain uses RDS. */
export function inlineRoutes(l: ListenerModel): (RouteConfigModel | undefined)[] | undefined {
  const out: (RouteConfigModel | undefined)[] = [];
  for (const fc of listenerChains(l)) {
    const src = fc.hcm?.routeSource;
    if (src && src.kind !== 'inline') return undefined;
    out.push(src?.config);
  }
  return out;
}

interface Active {
  listener: Listener;
  spec: ListenerSpec;
  chains: FilterChains;
}

export class ListenerManager {
  private readonly active = new Map<string, Active>();
  private readonly draining = new Set<Listener>();
  /** Active listeners by formatted address, for use_original_dst hand-offs. */
  private byAddress = new Map<string, Listener>();

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
      if (prev && prev.spec.model === spec.model && sameRoutes(prev.spec.routeConfigs, spec.routeConfigs)) return;
      if (prev && sameSocket(prev.spec.model, spec.model)) {
        const chains = this.build(spec, prev.chains);
        prev.listener.update(spec.model, chains);
        prev.spec = spec;
        prev.chains = chains;
        log.debug(`listener ${name} updated in place`);
        return;
      }
      const chains = this.build(spec, undefined);
      const listener = new Listener(spec.model, chains, this.lookup);
      try {
        await listener.bind();
      } catch (err) {
        chains.close();
        errors.push((err as Error).message);
        return;
      }
      log.info(spec.model.bindToPort ? `listener ${name} bound to ${listener.boundAddress}` : `listener ${name} on ${formatAddress(spec.model.address)} (not bound: reached by use_original_dst hand-off)`);
      this.active.set(name, { listener, spec, chains });
      if (prev) this.retire(prev.listener);
    }));
    this.indexAddresses();
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

  /** The listener for an original destination: exact address, else the wildcard of its family. */
  private readonly lookup = (host: string, port: number): Listener | undefined => {
    return this.byAddress.get(formatAddress({ kind: 'tcp', host, port }))
      ?? this.byAddress.get(host.includes(':') ? `[::]:${port}` : `0.0.0.0:${port}`);
  };

  private indexAddresses(): void {
    const next = new Map<string, Listener>();
    for (const a of this.active.values()) {
      const key = formatAddress(a.spec.model.address);
      if (next.has(key)) log.warn(`listeners ${next.get(key)!.model.name} and ${a.spec.model.name} share the address ${key}; hand-offs go to the first`);
      else next.set(key, a.listener);
    }
    this.byAddress = next;
  }

  private build(spec: ListenerSpec, previous: FilterChains | undefined): FilterChains {
    return new FilterChains(spec.model, spec.routeConfigs, this.clusters, this.flushIntervalMs, previous);
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

function sameRoutes(a: readonly (RouteConfigModel | undefined)[], b: readonly (RouteConfigModel | undefined)[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}

/** Same socket: same address and the same binding options. */
function sameSocket(a: ListenerModel, b: ListenerModel): boolean {
  return formatAddress(a.address) === formatAddress(b.address) && a.bindToPort === b.bindToPort && a.transparent === b.transparent;
}
