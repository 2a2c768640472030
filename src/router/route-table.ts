/**
 * A compiled RouteConfiguration: virtual host selection by :authority, then the
 * first route whose match succeeds (Envoy's RouteMatcher / VirtualHostImpl).
 */
import type { RouteConfigModel, RouteModel, VirtualHostModel, WeightedClusterModel } from '../snapshot/model';
import { compileRouteMatch, type HeaderBag } from './matchers';
import { compileHashPolicy, type HashPolicy } from './hash-policy';
import { compileRe2Rewrite } from './re2-regex';

export interface RouteEntry {
  readonly vhost: VirtualHostModel;
  readonly route: RouteModel;
  /** For weighted routes: cumulative weight table, and the total. */
  readonly weighted: { readonly clusters: readonly WeightedClusterModel[]; readonly cumulative: readonly number[]; readonly total: number } | undefined;
  /** The route's compiled hash_policy (RING_HASH/MAGLEV); undefined when it has none. */
  readonly hashPolicy: HashPolicy | undefined;
  /** The route's compiled regex_rewrite (global regex and JavaScript replacement). */
  readonly regexRewrite: { readonly regex: RegExp; readonly replacement: string } | undefined;
}

interface CompiledVirtualHost {
  readonly model: VirtualHostModel;
  /** Some route matches on runtime_fraction. */
  readonly usesRandom: boolean;
  readonly routes: ReadonlyArray<{ readonly entry: RouteEntry; readonly matches: (path: string, headers: HeaderBag, random: number) => boolean }>;
}

export class RouteTable {
  private readonly exact = new Map<string, CompiledVirtualHost>();
  /** `*.foo.com` → suffix `.foo.com`, longest first. */
  private readonly suffixes: Array<{ suffix: string; vh: CompiledVirtualHost }> = [];
  /** `foo.*` → prefix `foo.`, longest first. */
  private readonly prefixes: Array<{ prefix: string; vh: CompiledVirtualHost }> = [];
  private readonly catchAll: CompiledVirtualHost | undefined;
  private readonly ignorePort: boolean;

  constructor(readonly model: RouteConfigModel) {
    this.ignorePort = model.ignorePortInHostMatching;
    let catchAll: CompiledVirtualHost | undefined;
    for (const vhm of model.virtualHosts) {
      const vh = compileVirtualHost(vhm);
      for (const raw of vhm.domains) {
        const d = raw.toLowerCase();
        if (d === '*') catchAll = vh;
        else if (d.startsWith('*')) this.suffixes.push({ suffix: d.slice(1), vh });
        else if (d.endsWith('*')) this.prefixes.push({ prefix: d.slice(0, -1), vh });
        else this.exact.set(d, vh);
      }
    }
    this.catchAll = catchAll;
    this.suffixes.sort((a, b) => b.suffix.length - a.suffix.length);
    this.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The matching route, or undefined (→ 404 NR). */
  match(authority: string, path: string, headers: HeaderBag): RouteEntry | undefined {
    const vh = this.findVirtualHost(authority);
    if (!vh) return undefined;
    // One random value per request for runtime_fraction matches (Envoy's stream random), drawn
    // only when the virtual host has such a route.
    const random = vh.usesRandom ? Math.random() : 0;
    for (const r of vh.routes) if (r.matches(path, headers, random)) return r.entry;
    return undefined;
  }

  findVirtualHost(authority: string): CompiledVirtualHost | undefined {
    if (this.exact.size === 0 && this.suffixes.length === 0 && this.prefixes.length === 0) return this.catchAll;
    let host = authority.toLowerCase();
    if (this.ignorePort) host = stripPort(host);
    const exact = this.exact.get(host);
    if (exact) return exact;
    // Wildcards never match the empty string: the host must be longer than the fixed part.
    for (const s of this.suffixes) if (host.length > s.suffix.length && host.endsWith(s.suffix)) return s.vh;
    for (const p of this.prefixes) if (host.length > p.prefix.length && host.startsWith(p.prefix)) return p.vh;
    return this.catchAll;
  }
}

function compileVirtualHost(model: VirtualHostModel): CompiledVirtualHost {
  return {
    model,
    usesRandom: model.routes.some((r) => r.match.runtimeFractionPerMillion !== undefined),
    routes: model.routes.map((route) => {
      let weighted: RouteEntry['weighted'];
      if (route.action.kind === 'route' && route.action.cluster.kind === 'weighted') {
        const clusters = route.action.cluster.clusters;
        const cumulative: number[] = [];
        let total = 0;
        for (const c of clusters) cumulative.push((total += c.weight));
        weighted = { clusters, cumulative, total };
      }
      const hashPolicy = route.action.kind === 'route' ? compileHashPolicy(route.action.hashPolicy) : undefined;
      let regexRewrite: RouteEntry['regexRewrite'];
      const rr = route.action.kind === 'route' ? route.action.regexRewrite : undefined;
      if (rr) {
        const c = compileRe2Rewrite(rr.regex, rr.substitution);
        // The decoder rejects bad patterns; one slipping through rewrites nothing.
        if (c.ok) regexRewrite = { regex: c.regex, replacement: c.replacement };
      }
      return { entry: { vhost: model, route, weighted, hashPolicy, regexRewrite }, matches: compileRouteMatch(route.match) };
    }),
  };
}

/** Picks a weighted cluster: v = random % total over consecutive [0,w1) [w1,w1+w2)... ranges. */
export function pickWeightedCluster(w: NonNullable<RouteEntry['weighted']>, random: number = Math.random()): WeightedClusterModel {
  const v = Math.floor(random * w.total);
  const cum = w.cumulative;
  for (let i = 0; i < cum.length; i++) if (v < cum[i]!) return w.clusters[i]!;
  return w.clusters[w.clusters.length - 1]!;
}

export function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end > 0 ? host.slice(0, end + 1) : host;
  }
  const c = host.lastIndexOf(':');
  return c >= 0 && host.indexOf(':') === c ? host.slice(0, c) : host;
}
