/**
 * Admin /config_dump in Envoy's shape (envoy.admin.v3.ConfigDump): Bootstrap, Clusters,
 * [Endpoints with ?include_eds], Listeners, ScopedRoutes, Routes, Secrets — in that order,
 * each with static_* / dynamic_* entries, version_info, last_updated and error_state for
 * rejected updates. `?resource=<field>` returns the entries of one repeated field and
 * `?mask=<a,b.c>` keeps only the given fields, as Envoy's do.
 */
import { lookupMessage } from '../proto/envoy-protos';
import { toProtoJson } from '../proto/proto-encode';
import type { BootstrapModel } from '../snapshot/model';
import type { ProtoObj } from '../xds/resources/decode-context';
import { TYPE } from '../xds/type-urls';
import type { XdsManager } from '../xds/xds-manager';
import type { XdsTransport } from '../xds/xds-transport';
import type { AcceptedResource, RejectedUpdate } from '../xds/xds-state';

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';

export interface ConfigDumpSources {
  readonly bootstrap: ProtoObj;
  readonly model: BootstrapModel;
  readonly xds: XdsManager | undefined;
  readonly transport: XdsTransport | undefined;
}

/** Renders one resource as an Any in proto3 JSON. */
function any(typeUrl: string, proto: ProtoObj): Record<string, unknown> {
  const type = lookupMessage(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
  // xDS resources arrive as decoded Anys and still carry their "@type".
  const { ['@type']: _ignored, ...fields } = proto;
  void _ignored;
  const json = type ? (toProtoJson(type, fields) as Record<string, unknown>) : {};
  return { '@type': typeUrl, ...json };
}

const ts = (d: Date): string => d.toISOString();

function errorState(r: RejectedUpdate | undefined, typeUrl: string): Record<string, unknown> | undefined {
  if (!r) return undefined;
  return {
    failed_configuration: r.failedConfiguration ? any(typeUrl, r.failedConfiguration) : undefined,
    last_update_attempt: ts(r.lastUpdateAttempt),
    details: r.details,
    version_info: r.version,
  };
}

export function configDump(url: URL, src: ConfigDumpSources): { status: number; contentType: string; body: string } {
  const bootTime = new Date(process.uptime() ? Date.now() - process.uptime() * 1000 : Date.now());
  const sr = (src.bootstrap['static_resources'] ?? {}) as ProtoObj;
  const xds = src.xds;
  const configs: Array<Record<string, unknown>> = [];

  configs.push({ '@type': `${ADMIN}BootstrapConfigDump`, bootstrap: any('type.googleapis.com/envoy.config.bootstrap.v3.Bootstrap', src.bootstrap), last_updated: ts(bootTime) });

  const dynClusters = xds ? [...xds.clusters.values()] : [];
  configs.push(strip({
    '@type': `${ADMIN}ClustersConfigDump`,
    version_info: xds?.versions.get(TYPE.cluster),
    static_clusters: ((sr['clusters'] ?? []) as ProtoObj[]).map((c) => ({ cluster: any(TYPE.cluster, c), last_updated: ts(bootTime) })),
    dynamic_active_clusters: dynClusters.map((r) => dynamicEntry(r, TYPE.cluster, 'cluster', xds!.rejected.get(`${TYPE.cluster}|${r.name}`))),
  }));

  if (url.searchParams.has('include_eds')) {
    configs.push(strip({
      '@type': `${ADMIN}EndpointsConfigDump`,
      dynamic_endpoint_configs: (xds ? [...xds.endpoints.values()] : []).map((r) => dynamicEntry(r, TYPE.endpoints, 'endpoint_config', undefined)),
    }));
  }

  configs.push(strip({
    '@type': `${ADMIN}ListenersConfigDump`,
    version_info: xds?.versions.get(TYPE.listener),
    static_listeners: ((sr['listeners'] ?? []) as ProtoObj[]).map((l) => ({ listener: any(TYPE.listener, l), last_updated: ts(bootTime) })),
    dynamic_listeners: (xds ? [...xds.listeners.values()] : []).map((r) => strip({
      name: r.name,
      active_state: { version_info: r.version, listener: any(TYPE.listener, r.proto), last_updated: ts(r.lastUpdated) },
      error_state: errorState(xds!.rejected.get(`${TYPE.listener}|${r.name}`), TYPE.listener),
    })),
  }));

  configs.push({ '@type': `${ADMIN}ScopedRoutesConfigDump` });

  configs.push(strip({
    '@type': `${ADMIN}RoutesConfigDump`,
    static_route_configs: inlineRouteConfigs(sr).map((rc) => ({ route_config: any(TYPE.routeConfig, rc), last_updated: ts(bootTime) })),
    dynamic_route_configs: (xds ? [...xds.routes.values()] : []).map((r) => dynamicEntry(r, TYPE.routeConfig, 'route_config', xds!.rejected.get(`${TYPE.routeConfig}|${r.name}`))),
  }));

  configs.push({ '@type': `${ADMIN}SecretsConfigDump` });

  let out: unknown = { configs };
  const resource = url.searchParams.get('resource');
  if (resource) {
    const items: unknown[] = [];
    for (const c of configs) {
      const v = c[resource];
      if (Array.isArray(v)) for (const item of v) items.push({ '@type': `${String(c['@type'])}.${elementTypeName(resource)}`, ...(item as object) });
    }
    out = { configs: items };
  }
  const mask = url.searchParams.get('mask');
  if (mask) {
    const paths = mask.split(',').map((p) => p.trim().split('.'));
    out = { configs: (out as { configs: Array<Record<string, unknown>> }).configs.map((c) => ({ '@type': c['@type'], ...applyMask(c, paths) })) };
  }
  return { status: 200, contentType: 'application/json', body: JSON.stringify(out, null, 2) + '\n' };
}

function dynamicEntry<M>(r: AcceptedResource<M>, typeUrl: string, field: string, rejected: RejectedUpdate | undefined): Record<string, unknown> {
  return strip({
    version_info: r.version,
    [field]: any(typeUrl, r.proto),
    last_updated: ts(r.lastUpdated),
    error_state: errorState(rejected, typeUrl),
    client_status: rejected ? 'NACKED' : 'ACKED',
  });
}

/** Envoy lists a listener's inline route configuration among the static route configs. */
function inlineRouteConfigs(sr: ProtoObj): ProtoObj[] {
  const out: ProtoObj[] = [];
  for (const l of (sr['listeners'] ?? []) as ProtoObj[]) {
    for (const fc of (l['filter_chains'] ?? []) as ProtoObj[]) {
      for (const f of (fc['filters'] ?? []) as ProtoObj[]) {
        const rc = (f['typed_config'] as ProtoObj | undefined)?.['route_config'];
        if (rc) out.push(rc as ProtoObj);
      }
    }
  }
  return out;
}

const ELEMENT_TYPES: Record<string, string> = {
  static_clusters: 'StaticCluster', dynamic_active_clusters: 'DynamicCluster', dynamic_warming_clusters: 'DynamicCluster',
  static_listeners: 'StaticListener', dynamic_listeners: 'DynamicListener',
  static_route_configs: 'StaticRouteConfig', dynamic_route_configs: 'DynamicRouteConfig',
  static_endpoint_configs: 'StaticEndpointConfig', dynamic_endpoint_configs: 'DynamicEndpointConfig',
};

function elementTypeName(field: string): string {
  return ELEMENT_TYPES[field] ?? field;
}

function applyMask(obj: Record<string, unknown>, paths: string[][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of paths) {
    const [head, ...rest] = p;
    if (!head || !(head in obj)) continue;
    const v = obj[head];
    if (rest.length === 0) out[head] = v;
    else if (Array.isArray(v)) out[head] = v.map((x) => (x && typeof x === 'object' ? applyMask(x as Record<string, unknown>, [rest]) : x));
    else if (v && typeof v === 'object') out[head] = { ...(out[head] as object | undefined), ...applyMask(v as Record<string, unknown>, [rest]) };
  }
  return out;
}

/** Drops undefined fields and empty arrays, as proto3 JSON omits defaults. */
function strip<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) delete o[k];
  }
  return o;
}
