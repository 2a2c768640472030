/**
 * Loading xDS resources from the shared fixtures, so a test can serve real
 * control-plane output over ADS:
 *
 *  - `xds-resources/*.yaml` (Envoy Gateway goldens): a YAML list of resources
 *    in camelCase proto3 JSON. The type comes from each item's `@type`, or else
 *    from the file name (`*.listeners.yaml`, `*.routes.yaml`, `*.clusters.yaml`,
 *    `*.endpoints.yaml`, `*.secrets.yaml`). A `DiscoveryResponse`-like wrapper
 *    (`{ type_url?, resources: [...] }`) is accepted too.
 *  - Envoy `/config_dump` output (`istio-config-dumps/*`), JSON whatever the
 *    extension: `{ configs: [...] }` or a single `envoy.admin.v3.*ConfigDump`.
 *    Listeners come from `static_listeners[].listener` and
 *    `dynamic_listeners[].active_state.listener` (`warming_state` when there is
 *    no active one), clusters from `static_clusters[]` / `dynamic_active_clusters[]`
 *    / `dynamic_warming_clusters[]` `.cluster`, route configs from
 *    `static_route_configs[]` / `dynamic_route_configs[]` `.route_config`,
 *    endpoints from `static_endpoint_configs[]` / `dynamic_endpoint_configs[]`
 *    `.endpoint_config`, secrets from `static_secrets[]` /
 *    `dynamic_active_secrets[]` / `dynamic_warming_secrets[]` `.secret`, ECDS
 *    from `ecds_filters[].ecds_filter`. The bootstrap section is skipped.
 *
 * Values are returned as found (proto3 JSON minus the top-level `@type`), not
 * validated: `encodeResource` does that when they are served. The one change:
 * an unnamed listener (Envoy dumps bootstrap listeners without their UUID name)
 * is named `<address>_<port>`, as Istio names listeners, in the value too. v2 resources
 * (`envoy.api.v2.*`, Istio 1.4 dumps) are refused: no v3 server sends them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { fixturesDir } from '../../fixtures-dir';
import { CDS_TYPE_URL, ECDS_TYPE_URL, EDS_TYPE_URL, LDS_TYPE_URL, RDS_TYPE_URL, SDS_TYPE_URL, type ProtoJsonObject, resourceNameOf } from './ads-codec';
import type { TypedResourceEntry } from './control-plane';

/** One resource found in a fixture file. */
export interface FixtureResource extends TypedResourceEntry {
  /** `static_*` sections of a config dump (bootstrap-defined in the proxy that dumped it) or anything else (`dynamic`). */
  readonly origin: 'static' | 'dynamic';
  /** `version_info` of the dump entry, when it has one. */
  readonly versionInfo?: string;
}

/** Options of {@link loadFixtureResources}. */
export interface LoadFixtureOptions {
  /** Keep only resources of this origin; default both. */
  readonly origin?: 'static' | 'dynamic';
  /** Keep only these type URLs; default all. */
  readonly typeUrls?: readonly string[];
}

const BY_FILE_NAME: ReadonlyArray<readonly [RegExp, string]> = [
  [/\.listeners?\.(ya?ml|json)$/, LDS_TYPE_URL],
  [/\.routes?\.(ya?ml|json)$/, RDS_TYPE_URL],
  [/\.clusters?\.(ya?ml|json)$/, CDS_TYPE_URL],
  [/\.endpoints?\.(ya?ml|json)$/, EDS_TYPE_URL],
  [/\.secrets?\.(ya?ml|json)$/, SDS_TYPE_URL],
];

/** A config dump section: list key, key of the resource inside an entry, type, origin. */
const DUMP_SECTIONS: ReadonlyArray<readonly [string, string, string, 'static' | 'dynamic']> = [
  ['static_listeners', 'listener', LDS_TYPE_URL, 'static'],
  ['dynamic_listeners', 'listener', LDS_TYPE_URL, 'dynamic'],
  ['static_clusters', 'cluster', CDS_TYPE_URL, 'static'],
  ['dynamic_active_clusters', 'cluster', CDS_TYPE_URL, 'dynamic'],
  ['dynamic_warming_clusters', 'cluster', CDS_TYPE_URL, 'dynamic'],
  ['static_route_configs', 'route_config', RDS_TYPE_URL, 'static'],
  ['dynamic_route_configs', 'route_config', RDS_TYPE_URL, 'dynamic'],
  ['static_endpoint_configs', 'endpoint_config', EDS_TYPE_URL, 'static'],
  ['dynamic_endpoint_configs', 'endpoint_config', EDS_TYPE_URL, 'dynamic'],
  ['static_secrets', 'secret', SDS_TYPE_URL, 'static'],
  ['dynamic_active_secrets', 'secret', SDS_TYPE_URL, 'dynamic'],
  ['dynamic_warming_secrets', 'secret', SDS_TYPE_URL, 'dynamic'],
  ['ecds_filters', 'ecds_filter', ECDS_TYPE_URL, 'dynamic'],
];

/**
 * The resources in fixture `file`: absolute, relative to the fixtures directory
 * (`'xds-resources/weighted-90-10.routes.yaml'`), or a bare name found in
 * `xds-resources/` or `istio-config-dumps/`. Throws naming the file when it
 * cannot be read, holds v2 resources, or holds a resource without a type or name.
 */
export function loadFixtureResources(file: string, opts: LoadFixtureOptions = {}): FixtureResource[] {
  const resolved = resolveFixture(file);
  const text = fs.readFileSync(resolved, 'utf8');
  const docs = parseDocuments(text, resolved);
  const found: FixtureResource[] = [];
  const fail = (message: string): never => {
    throw new Error(`${resolved}: ${message}`);
  };
  for (const doc of docs) {
    if (isObject(doc) && (Array.isArray(doc['configs']) || isDumpSection(doc))) readConfigDump(doc, found, fail);
    else readResourceList(doc, typeFromFileName(resolved), found, fail);
  }
  return found.filter((r) => (opts.origin === undefined || r.origin === opts.origin) && (opts.typeUrls === undefined || opts.typeUrls.includes(r.typeUrl)));
}

/** Absolute path of a fixture named as {@link loadFixtureResources} accepts. */
export function resolveFixture(file: string): string {
  if (path.isAbsolute(file)) return file;
  const root = fixturesDir();
  for (const candidate of [path.join(root, file), path.join(root, 'xds-resources', file), path.join(root, 'istio-config-dumps', file)]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`fixture ${file} not found under ${root}`);
}

// === Config dumps ===

function readConfigDump(doc: Record<string, unknown>, out: FixtureResource[], fail: (m: string) => never): void {
  const sections = Array.isArray(doc['configs']) ? (doc['configs'] as unknown[]) : [doc];
  for (const section of sections) {
    if (!isObject(section)) continue;
    for (const [listKey, itemKey, typeUrl, origin] of DUMP_SECTIONS) {
      const list = section[listKey];
      if (!Array.isArray(list)) continue;
      for (const entry of list) {
        if (!isObject(entry)) continue;
        let holder: Record<string, unknown> = entry;
        if (listKey === 'dynamic_listeners') {
          const state = entry['active_state'] ?? entry['warming_state'];
          if (!isObject(state)) continue; // draining or error state only
          holder = state;
        }
        const resource = holder[itemKey];
        if (!isObject(resource)) continue;
        const version = holder['version_info'];
        const r = toResource(resource, typeUrl, origin, fail);
        // A cluster being updated is listed as active (old) and warming (new): keep the first seen.
        if (listKey.includes('warming') && out.some((o) => o.typeUrl === r.typeUrl && o.name === r.name)) continue;
        out.push(typeof version === 'string' ? { ...r, versionInfo: version } : r);
      }
    }
  }
}

function isDumpSection(doc: Record<string, unknown>): boolean {
  const t = doc['@type'];
  return typeof t === 'string' && /\.admin\.v\d\w*\.\w+ConfigDump$/.test(t);
}

// === Resource lists ===

function readResourceList(doc: unknown, fileType: string | undefined, out: FixtureResource[], fail: (m: string) => never): void {
  let items: unknown = doc;
  let type = fileType;
  if (isObject(doc) && Array.isArray(doc['resources'])) {
    items = doc['resources'];
    const declared = doc['type_url'] ?? doc['typeUrl'];
    if (typeof declared === 'string') type = declared;
  }
  if (items === null || items === undefined) return; // an empty YAML document
  if (!Array.isArray(items)) items = [items];
  for (const item of items as unknown[]) {
    if (!isObject(item)) fail(`expected a resource object, got ${JSON.stringify(item)}`);
    out.push(toResource(item as Record<string, unknown>, type, 'dynamic', fail));
  }
}

function typeFromFileName(file: string): string | undefined {
  return BY_FILE_NAME.find(([re]) => re.test(path.basename(file)))?.[1];
}

// === Shared ===

function toResource(resource: Record<string, unknown>, fallbackType: string | undefined, origin: 'static' | 'dynamic', fail: (m: string) => never): FixtureResource {
  const declared = resource['@type'];
  const typeUrl = typeof declared === 'string' ? declared : fallbackType;
  if (typeUrl === undefined) return fail('resource without "@type" and no type implied by the file name');
  if (/\/envoy\.api\.v2\./.test(typeUrl)) return fail(`${typeUrl} is a v2 xDS resource; only v3 resources can be served`);
  const { '@type': _dropped, ...value } = resource;
  const name = resourceNameOf(typeUrl, value as ProtoJsonObject);
  if (name !== undefined) return { typeUrl, name, value: value as ProtoJsonObject, origin };
  // Envoy names an unnamed (bootstrap) listener with a UUID and dumps it without
  // a name; LDS needs one, so it gets Istio's `<address>_<port>`.
  const derived = typeUrl === LDS_TYPE_URL ? listenerNameOf(value) : undefined;
  if (derived === undefined) return fail(`${typeUrl} resource without a name`);
  return { typeUrl, name: derived, value: { ...value, name: derived }, origin };
}

function listenerNameOf(listener: Record<string, unknown>): string | undefined {
  const address = listener['address'];
  const socket = isObject(address) ? (address['socket_address'] ?? address['socketAddress']) : undefined;
  if (!isObject(socket)) return undefined;
  const port = socket['port_value'] ?? socket['portValue'];
  return typeof socket['address'] === 'string' && port !== undefined ? `${socket['address']}_${String(port)}` : undefined;
}

function parseDocuments(text: string, file: string): unknown[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return [JSON.parse(text)];
    } catch {
      // not JSON after all: YAML flow style
    }
  }
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list) if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
  return list.map((d) => d.toJS({ maxAliasCount: -1 }) as unknown);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
