/**
 * Istio's stats filter, in the forms istiod has sent it:
 *
 * - `istio.stats` with `type.googleapis.com/stats.PluginConfig` (Istio ≥ 1.18), directly or
 *   wrapped in a `udpa.type.v1.TypedStruct` (the waypoint dump in ../shared/fixtures has
 *   `{"reporter": "SERVER_GATEWAY"}` that way);
 * - the Wasm form of Istio 1.5–1.17: `envoy.extensions.filters.http.wasm.v3.Wasm` whose
 *   `vm_config.code.local.inline_string` is `envoy.wasm.stats` (the null-VM build of the same
 *   plugin) and whose `configuration` is a JSON string (a `google.protobuf.StringValue`).
 *
 * The Wasm filter type is otherwise refused (Legate cannot run Wasm, and an unknown Wasm module
 * may be a policy): only the two null-VM modules Istio ships as telemetry are recognized here;
 * `envoy.wasm.metadata_exchange` is accepted and does nothing (peer labels then read "unknown",
 * see docs/compat.md).
 */
import type { IstioStatsFilterModel } from '../../snapshot/model';
import type { DecodeContext, ProtoObj } from '../../xds/resources/decode-context';
import type { HttpFilterFactory, HttpFilterModel } from '../registry';

type Obj = Record<string, unknown>;

/** The standard metrics a `metrics[].name` may name. */
const STANDARD_METRICS = new Set([
  'requests_total', 'request_duration_milliseconds', 'request_bytes', 'response_bytes',
  'request_messages_total', 'response_messages_total',
  'tcp_connections_opened_total', 'tcp_connections_closed_total', 'tcp_sent_bytes_total', 'tcp_received_bytes_total',
]);

const WASM_REFUSED = 'is a Wasm extension; Legate cannot run Wasm, and what it would do (often authn or policy) cannot be assumed away';

/** A field by its proto name or its JSON (lowerCamel) name: TypedStruct values may use either. */
function field(o: Obj | undefined, snake: string): unknown {
  if (!o) return undefined;
  if (o[snake] !== undefined) return o[snake];
  return o[snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())];
}

function asObj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

function typeName(o: Obj | undefined): string {
  const t = String(o?.['@type'] ?? '');
  return t.slice(t.lastIndexOf('/') + 1);
}

/** The message inside a TypedStruct, or the message itself. */
function unwrapTypedStruct(config: Obj): Obj {
  const t = typeName(config);
  if (t === 'udpa.type.v1.TypedStruct' || t === 'xds.type.v3.TypedStruct') return asObj(config['value']) ?? {};
  return config;
}

/** Reads a PluginConfig (decoded message, TypedStruct value or Wasm JSON configuration). */
export function decodePluginConfig(pc: Obj, path: string, ctx: DecodeContext): IstioStatsFilterModel {
  const reporterRaw = field(pc, 'reporter');
  let reporter: IstioStatsFilterModel['reporter'] = 'UNSPECIFIED';
  if (reporterRaw === 'SERVER_GATEWAY' || reporterRaw === 1) reporter = 'SERVER_GATEWAY';
  else if (reporterRaw !== undefined && reporterRaw !== 'UNSPECIFIED' && reporterRaw !== 0) {
    ctx.error(`${path}.reporter`, `unknown reporter ${JSON.stringify(reporterRaw)} (UNSPECIFIED, SERVER_GATEWAY)`);
  }
  const dropped: string[] = [];
  const tagsToRemove: Record<string, string[]> = {};
  const metrics = field(pc, 'metrics');
  (Array.isArray(metrics) ? metrics : []).forEach((m: unknown, i: number) => {
    const mc = asObj(m) ?? {};
    const mpath = `${path}.metrics[${i}]`;
    const name = String(field(mc, 'name') ?? '');
    if (name !== '' && !STANDARD_METRICS.has(name)) ctx.warn(`${mpath}.name`, `"${name}" is not a standard Istio metric; the override has no effect`);
    if (field(mc, 'drop') === true) {
      if (name !== '') dropped.push(name);
      return;
    }
    const remove = field(mc, 'tags_to_remove');
    if (Array.isArray(remove) && remove.length) (tagsToRemove[name] ??= []).push(...remove.map(String));
    const dims = asObj(field(mc, 'dimensions'));
    if (dims && Object.keys(dims).length) {
      ctx.warn(`${mpath}.dimensions`, 'metric dimensions are CEL expressions, which Legate does not evaluate; the standard labels are reported unchanged');
    }
  });
  const defs = field(pc, 'definitions');
  if (Array.isArray(defs) && defs.length) ctx.warn(`${path}.definitions`, 'custom metric definitions are CEL expressions, which Legate does not evaluate; they are not reported');
  const fallback = field(pc, 'disable_host_header_fallback');
  return {
    reporter,
    disableHostHeaderFallback: fallback === true || fallback === 'true',
    droppedMetrics: dropped,
    tagsToRemove,
  };
}

/** `stats.PluginConfig` (directly or in a TypedStruct). */
export const istioStatsFilter: HttpFilterFactory = {
  decode(config: ProtoObj, path: string, ctx: DecodeContext): HttpFilterModel {
    const pc = unwrapTypedStruct(config);
    return { kind: 'istio_stats', config: decodePluginConfig(pc, path, ctx) };
  },
};

/**
 * `envoy.extensions.filters.http.wasm.v3.Wasm`: Istio's null-VM telemetry modules are understood;
 * anything else is refused by name, as before.
 */
export const wasmFilter: HttpFilterFactory = {
  decode(config: ProtoObj, path: string, ctx: DecodeContext): HttpFilterModel | undefined {
    const wasm = unwrapTypedStruct(config);
    const pc = asObj(field(wasm, 'config')) ?? {};
    const vm = asObj(field(pc, 'vm_config'));
    const code = String(field(asObj(field(asObj(field(vm, 'code')), 'local')), 'inline_string') ?? '');
    if (code === 'envoy.wasm.metadata_exchange') return { kind: 'noop', name: 'envoy.wasm.metadata_exchange' };
    if (code !== 'envoy.wasm.stats') {
      ctx.error(path, `HTTP filter (envoy.extensions.filters.http.wasm.v3.Wasm${code ? `, code "${code}"` : ''}) ${WASM_REFUSED}`);
      return undefined;
    }
    const cpath = `${path}.config.configuration`;
    const configuration = field(pc, 'configuration');
    let json: Obj = {};
    // StringValue in an Any ({"@type", value: "..."}), or a bare string in a TypedStruct.
    const text = typeof configuration === 'string' ? configuration : asObj(configuration)?.['value'];
    if (typeof text === 'string' && text.trim() !== '') {
      try {
        json = asObj(JSON.parse(text)) ?? {};
      } catch (err) {
        ctx.error(cpath, `envoy.wasm.stats configuration is not JSON: ${(err as Error).message}`);
      }
    } else if (asObj(configuration) && typeName(asObj(configuration)) !== 'google.protobuf.StringValue') {
      json = unwrapTypedStruct(asObj(configuration)!);
    }
    return { kind: 'istio_stats', config: decodePluginConfig(json, cpath, ctx) };
  },
};
