/**
 * Reads an Envoy v3 bootstrap (file and/or --config-yaml), decodes it with Envoy's
 * own protos and builds the readonly models the server runs from. Every problem is
 * collected, each naming the file and the field path, so `--mode validate` can print
 * them all and `serve` can refuse to start with a precise message.
 */
import { decodeOverloadManager } from '../overload/decode-overload';
import type { AdsConfigModel, BootstrapModel, ClusterModel, ListenerModel, NodeModel } from '../snapshot/model';
import { formatAddress, listenerChains } from '../snapshot/model';
import { decodeAddress } from '../xds/resources/address';
import { decodeCluster } from '../xds/resources/cluster';
import { DecodeContext, type ProtoObj } from '../xds/resources/decode-context';
import { decodeListener } from '../xds/resources/listener';
import { decodeAdsConfig, decodeConfigSource } from '../xds/resources/config-source';
import { installBuiltins } from '../extensions/builtins';
import { decodeJson } from '../proto/proto-json';
import { lookupMessage } from '../proto/envoy-protos';
import { parseConfigText, readConfigFile, locateField } from './read-config-file';

export interface BootstrapSource {
  readonly configPath?: string | undefined;
  readonly configYaml?: string | undefined;
  readonly allowUnknownStaticFields?: boolean;
  readonly serviceNode?: string | undefined;
  readonly serviceCluster?: string | undefined;
  readonly serviceZone?: string | undefined;
}

export interface LoadedBootstrap {
  /** Present when there were no errors. */
  readonly model: BootstrapModel | undefined;
  /** The decoded bootstrap in normalized proto form (for /config_dump). */
  readonly proto: ProtoObj | undefined;
  /** One line each: `<file>[:line:col]: <field path>: <message>`. */
  readonly errors: string[];
  readonly warnings: string[];
}

export function loadBootstrap(src: BootstrapSource): LoadedBootstrap {
  installBuiltins();
  const errors: string[] = [];
  const warnings: string[] = [];
  const sources: Array<{ name: string; text?: string; json: unknown }> = [];
  if (!src.configPath && !src.configYaml) {
    return { model: undefined, proto: undefined, errors: ['no configuration: pass -c/--config-path <file> or --config-yaml <yaml>'], warnings };
  }
  if (src.configPath) {
    const r = readConfigFile(src.configPath);
    if ('error' in r) return { model: undefined, proto: undefined, errors: [r.error], warnings };
    sources.push({ name: src.configPath, text: r.text, json: r.json });
  }
  if (src.configYaml) {
    const r = parseConfigText(src.configYaml, 'yaml', '--config-yaml');
    if ('error' in r) return { model: undefined, proto: undefined, errors: [r.error], warnings };
    sources.push({ name: '--config-yaml', text: src.configYaml, json: r.json });
  }
  // Envoy merges --config-yaml into the file's bootstrap (proto MergeFrom).
  let merged: unknown = undefined;
  for (const s of sources) merged = merged === undefined ? s.json : mergeJson(merged, s.json);
  const where = sources.map((s) => s.name).join(' + ');
  const locate = (path: string): string => {
    for (const s of sources) {
      if (s.text === undefined) continue;
      const loc = locateField(s.text, path);
      if (loc) return `${s.name}:${loc.line}:${loc.col}`;
    }
    return where;
  };

  if (merged === null || typeof merged !== 'object' || Array.isArray(merged)) {
    return { model: undefined, proto: undefined, errors: [`${where}: the bootstrap must be a mapping (an object), got ${Array.isArray(merged) ? 'a list' : typeof merged}`], warnings };
  }
  const type = lookupMessage('envoy.config.bootstrap.v3.Bootstrap');
  if (!type) return { model: undefined, proto: undefined, errors: ['internal: Envoy bootstrap proto not found'], warnings };
  const decoded = decodeJson(type, merged, { allowUnknownFields: src.allowUnknownStaticFields === true });
  for (const e of decoded.errors) errors.push(`${locate(e.path)}: ${e.path}: ${e.message}`);
  for (const w of decoded.warnings) warnings.push(`${locate(w.path)}: ${w.path}: ${w.message}`);
  if (errors.length) return { model: undefined, proto: undefined, errors, warnings };

  const b = decoded.value as ProtoObj;
  const ctx = new DecodeContext();
  const model = buildModel(b, src, ctx);
  for (const e of ctx.errors) errors.push(`${locate(e.path)}: ${e.path}: ${e.message}`);
  for (const w of ctx.warnings) warnings.push(`${locate(w.path)}: ${w.path}: ${w.message}`);
  return { model: errors.length ? undefined : model, proto: b, errors, warnings };
}

function buildModel(b: ProtoObj, src: BootstrapSource, ctx: DecodeContext): BootstrapModel {
  const node: NodeModel = {
    id: src.serviceNode ?? String(b.node?.id ?? ''),
    cluster: src.serviceCluster ?? String(b.node?.cluster ?? ''),
    metadata: b.node?.metadata ?? {},
    locality: {
      region: String(b.node?.locality?.region ?? ''),
      zone: src.serviceZone ?? String(b.node?.locality?.zone ?? ''),
      subZone: String(b.node?.locality?.sub_zone ?? ''),
    },
  };
  const admin = b.admin?.address ? { address: decodeAddress(b.admin.address, 'admin.address', ctx)! } : undefined;
  let dynamic: BootstrapModel['dynamic'];
  if (b.dynamic_resources) {
    const d = b.dynamic_resources;
    const ads = d.ads_config ? decodeAdsConfig(d.ads_config, 'dynamic_resources.ads_config', ctx) : undefined;
    const lds = d.lds_config ? decodeConfigSource(d.lds_config, 'dynamic_resources.lds_config', ctx) : undefined;
    const cds = d.cds_config ? decodeConfigSource(d.cds_config, 'dynamic_resources.cds_config', ctx) : undefined;
    if (d.lds_resources_locator || d.cds_resources_locator) ctx.error('dynamic_resources', 'xdstp:// resource locators are not supported');
    for (const [src, name] of [[lds, 'lds_config'], [cds, 'cds_config']] as const) {
      if (src?.kind === 'ads' && !ads) ctx.error(`dynamic_resources.${name}`, 'ads: {} needs dynamic_resources.ads_config');
      if (src?.kind === 'path' && !src.path) ctx.error(`dynamic_resources.${name}.path_config_source.path`, 'path is required');
    }
    dynamic = { ads, lds, cds };
  }
  const sr = b.static_resources ?? {};
  if (sr.secrets?.length) ctx.error('static_resources.secrets', 'TLS secrets are not supported: Legate does not implement TLS yet');
  const clusters: ClusterModel[] = (sr.clusters ?? []).map((c: ProtoObj, i: number) => decodeCluster(c, `static_resources.clusters[${i}]`, ctx));
  const listeners: ListenerModel[] = (sr.listeners ?? []).map((l: ProtoObj, i: number) => decodeListener(l, `static_resources.listeners[${i}]`, ctx));
  checkUnique(clusters.map((c) => c.name), 'static_resources.clusters', 'cluster', ctx);
  checkUnique(listeners.map((l) => l.name), 'static_resources.listeners', 'listener', ctx);
  checkUnique(listeners.map((l) => formatAddress(l.address)).filter((a) => !a.endsWith(':0')), 'static_resources.listeners', 'listener address', ctx);
  checkRouteClusters(listeners, new Set(clusters.map((c) => c.name)), ctx);
  if (!dynamic?.ads) checkAdsSourcesHaveAds(listeners, clusters, ctx);
  checkApiSourceClusters(dynamic, listeners, clusters, ctx);
  if (dynamic?.ads?.target.kind === 'cluster') {
    const name = dynamic.ads.target.clusterName;
    const xds = clusters.find((c) => c.name === name);
    if (!xds) ctx.error('dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name', `unknown cluster "${name}": the xDS cluster must be a static cluster`);
    else if (xds.protocol !== 'http2') ctx.warn('dynamic_resources.ads_config', `cluster "${name}" is used for gRPC, so it is spoken to over HTTP/2 whatever its protocol options say`);
  }
  const overload = b.overload_manager ? decodeOverloadManager(b.overload_manager, 'overload_manager', ctx) : undefined;
  return { node, admin, dynamic, listeners, clusters, overload };
}

function checkUnique(names: string[], path: string, what: string, ctx: DecodeContext): void {
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (seen.has(n)) ctx.error(`${path}[${i}]`, `duplicate ${what} "${n}"`);
    seen.add(n);
  });
}

/**
 * A per-type gRPC config source names its server by a static cluster (as ads_config does), for
 * dynamic_resources' LDS/CDS and static listeners' RDS / static clusters' EDS.
 */
function checkApiSourceClusters(dynamic: BootstrapModel['dynamic'], listeners: readonly ListenerModel[], clusters: readonly ClusterModel[], ctx: DecodeContext): void {
  const names = new Set(clusters.map((c) => c.name));
  const check = (api: AdsConfigModel | undefined, path: string): void => {
    if (api?.target.kind === 'cluster' && !names.has(api.target.clusterName)) {
      ctx.error(`${path}.api_config_source.grpc_services[0].envoy_grpc.cluster_name`, `unknown cluster "${api.target.clusterName}": the xDS cluster must be a static cluster`);
    }
  };
  for (const name of ['lds_config', 'cds_config'] as const) {
    const src = dynamic?.[name === 'lds_config' ? 'lds' : 'cds'];
    if (src?.kind === 'api') check(src.api, `dynamic_resources.${name}`);
  }
  listeners.forEach((l, li) => listenerChains(l).forEach((fc, fi) => {
    if (fc.hcm?.routeSource.kind === 'rds') check(fc.hcm.routeSource.api, `static_resources.listeners[${li}].filter_chains[${fi}].filters[*].typed_config.rds.config_source`);
  }));
  clusters.forEach((c, ci) => check(c.edsApi, `static_resources.clusters[${ci}].eds_cluster_config.eds_config`));
}

/**
 * Static resources whose RDS/EDS come `ads: {}` need dynamic_resources.ads_config (Envoy: "ADS
 * must be configured to support an ADS config source"); without it they would warm forever.
 */
function checkAdsSourcesHaveAds(listeners: readonly ListenerModel[], clusters: readonly ClusterModel[], ctx: DecodeContext): void {
  listeners.forEach((l, li) => {
    listenerChains(l).forEach((fc, fi) => {
      const src = fc.hcm?.routeSource;
      if (src?.kind === 'rds' && !src.file && !src.api) {
        ctx.error(`static_resources.listeners[${li}].filter_chains[${fi}].filters[*].typed_config.rds.config_source`, 'an ads config source needs dynamic_resources.ads_config');
      }
    });
  });
  clusters.forEach((c, ci) => {
    if (c.type === 'EDS' && !c.edsFile && !c.edsApi) ctx.error(`static_resources.clusters[${ci}].eds_cluster_config.eds_config`, 'an ads config source needs dynamic_resources.ads_config');
  });
}

/**
 * Envoy validates that statically configured routes name existing clusters
 * (RouteConfiguration.validate_clusters defaults to true for inline route configs).
 */
function checkRouteClusters(listeners: ListenerModel[], clusters: Set<string>, ctx: DecodeContext): void {
  listeners.forEach((l, li) => {
    l.filterChains.forEach((fc, fi) => {
      if (fc.hcm?.routeSource.kind !== 'inline') return;
      fc.hcm.routeSource.config.virtualHosts.forEach((vh, vi) => {
        vh.routes.forEach((r, ri) => {
          if (r.action.kind !== 'route') return;
          // The path is built only for an error (a 100-service sidecar has 100 routes to check).
          const base = (): string => `static_resources.listeners[${li}].filter_chains[${fi}].filters[*].typed_config.route_config.virtual_hosts[${vi}].routes[${ri}].route`;
          const spec = r.action.cluster;
          if (spec.kind === 'cluster' && !clusters.has(spec.name)) ctx.error(`${base()}.cluster`, `unknown cluster "${spec.name}"`);
          if (spec.kind === 'weighted') {
            spec.clusters.forEach((wc, wi) => {
              if (!clusters.has(wc.name)) ctx.error(`${base()}.weighted_clusters.clusters[${wi}].name`, `unknown weighted cluster "${wc.name}"`);
            });
          }
        });
      });
    });
  });
}

/** Proto MergeFrom on JSON: messages merge field by field, repeated fields append, scalars replace. */
export function mergeJson(a: unknown, b: unknown): unknown {
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = k in out ? mergeJson(out[k], v) : v;
    return out;
  }
  return b;
}
