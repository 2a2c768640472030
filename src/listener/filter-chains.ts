/**
 * A listener config's filter chains as runtime objects: an HttpChain per
 * http_connection_manager chain, a TcpProxy per tcp_proxy chain, and the matcher that picks one
 * per connection. Built once per listener config (or route) change.
 */
import { HttpConnectionManager } from '../http/connection-manager';
import type { FilterChainModel, ListenerModel, RouteConfigModel } from '../snapshot/model';
import { listenerChains } from '../snapshot/model';
import type { ClusterManager } from '../upstream/cluster-manager';
import { FilterChainMatcher } from './filter-chain-matcher';
import { HttpChain } from './http-chain';
import { TcpProxy } from './tcp-proxy';

export type Chain =
  | { readonly kind: 'http'; readonly key: string; readonly http: HttpChain }
  | { readonly kind: 'tcp'; readonly key: string; readonly tcp: TcpProxy };

export class FilterChains {
  readonly all: readonly Chain[];
  private readonly matcher: FilterChainMatcher<Chain>;
  private readonly defaultChain: Chain | undefined;

  /**
   * @param routeConfigs each chain's routes (undefined for TCP chains), aligned with listenerChains(model).
   * @param previous the chains serving until now: an HTTP chain at the same place keeps its
   *   connections and gets the new connection manager (in-flight streams keep the old one).
   */
  constructor(
    model: ListenerModel,
    routeConfigs: readonly (RouteConfigModel | undefined)[],
    clusters: ClusterManager,
    flushIntervalMs: number,
    previous: FilterChains | undefined,
  ) {
    const reusable = new Map<string, HttpChain>();
    for (const c of previous?.all ?? []) if (c.kind === 'http') reusable.set(c.key, c.http);
    const models = listenerChains(model);
    this.all = models.map((fc, i) => build(fc, chainKey(fc, i, i === model.filterChains.length), routeConfigs[i]));
    this.defaultChain = model.defaultFilterChain ? this.all[this.all.length - 1] : undefined;
    this.matcher = new FilterChainMatcher(model.filterChains.map((fc, i) => ({ match: fc.match, value: this.all[i]!, label: fc.name || `filter_chains[${i}]` })));

    function build(fc: FilterChainModel, key: string, routes: RouteConfigModel | undefined): Chain {
      if (fc.tcpProxy) return { kind: 'tcp', key, tcp: new TcpProxy(fc.tcpProxy, clusters) };
      const hcm = new HttpConnectionManager(fc.hcm!, routes ?? EMPTY_ROUTES, clusters, flushIntervalMs, model.trafficDirection);
      const prev = reusable.get(key);
      if (prev && prev.hcm.model.codec === fc.hcm!.codec) {
        reusable.delete(key);
        prev.swapConnectionManager(hcm);
        return { kind: 'http', key, http: prev };
      }
      return { kind: 'http', key, http: new HttpChain(hcm, model.name) };
    }
  }

  /** The chain for a connection (its match, else the default chain), or undefined: close it. */
  select(facts: Parameters<FilterChainMatcher<Chain>['find']>[0]): Chain | undefined {
    return this.matcher.find(facts) ?? this.defaultChain;
  }

  /** Whether `chain` is one of these (a previous set's chains that were not reused are retired). */
  has(chain: Chain): boolean {
    return this.all.includes(chain);
  }

  get activeStreams(): number {
    let n = 0;
    for (const c of this.all) if (c.kind === 'http') n += c.http.activeStreams;
    return n;
  }

  /**
   * Drains the HTTP chains `next` does not reuse (all of them when there is no next) and returns
   * them: they serve their open connections until those finish.
   */
  drainExcept(next: FilterChains | undefined): HttpChain[] {
    const drained: HttpChain[] = [];
    for (const c of this.all) {
      if (c.kind !== 'http' || next?.all.some((n) => n.kind === 'http' && n.http === c.http)) continue;
      c.http.drain();
      drained.push(c.http);
    }
    return drained;
  }

  close(): void {
    for (const c of this.all) {
      if (c.kind === 'http') c.http.close();
      else c.tcp.close();
    }
  }
}

const EMPTY_ROUTES: RouteConfigModel = { name: '', virtualHosts: [], ignorePortInHostMatching: false, requestHeaders: { add: [], remove: [] }, responseHeaders: { add: [], remove: [] } };

/** Identifies a chain across config versions: position, name and whether it is the default chain. */
function chainKey(fc: FilterChainModel, index: number, isDefault: boolean): string {
  return isDefault ? `default|${fc.name}` : `${index}|${fc.name}`;
}
