/**
 * Decodes the bootstrap's `overload_manager` into {@link OverloadManagerModel}. Monitors and
 * actions Legate cannot honour are named: an unknown monitor or action is an error (a
 * protection the operator asked for must not silently vanish); actions that only tune
 * behaviour (reduce_timeouts, reset_high_memory_stream) are warnings, listed in docs/compat.md.
 */
import { DecodeContext, durationMs, typeUrlName, type ProtoObj } from '../xds/resources/decode-context';
import {
  FIXED_HEAP,
  GLOBAL_DOWNSTREAM_MAX_CONNECTIONS,
  type OverloadActionKind,
  type OverloadActionModel,
  type OverloadManagerModel,
  type OverloadTriggerModel,
  type ResourceMonitorModel,
} from './overload-model';

const MONITOR_TYPES: Readonly<Record<string, 'fixed_heap' | 'downstream_connections'>> = {
  'envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig': 'fixed_heap',
  'envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig': 'downstream_connections',
};

const ACTIONS: Readonly<Record<string, OverloadActionKind>> = {
  'envoy.overload_actions.stop_accepting_requests': 'stop_accepting_requests',
  'envoy.overload_actions.stop_accepting_connections': 'stop_accepting_connections',
  'envoy.overload_actions.reject_incoming_connections': 'stop_accepting_connections',
  'envoy.overload_actions.disable_http_keepalive': 'disable_http_keepalive',
  'envoy.overload_actions.shrink_heap': 'shrink_heap',
};

/** Actions that tune behaviour without protecting anything: skipped with a warning. */
const SKIPPED_ACTIONS: Readonly<Record<string, string>> = {
  'envoy.overload_actions.reduce_timeouts': 'timeouts are not scaled under pressure',
  'envoy.overload_actions.reset_high_memory_stream': 'streams are not reset by their buffer use (per-stream buffers are bounded by flow control)',
};

const LOAD_SHED_POINTS: Readonly<Record<string, OverloadActionKind>> = {
  'envoy.load_shed_points.http_connection_manager_decode_headers': 'stop_accepting_requests',
  'envoy.load_shed_points.tcp_listener_accept': 'stop_accepting_connections',
};

export function decodeOverloadManager(om: ProtoObj, path: string, ctx: DecodeContext): OverloadManagerModel {
  const monitors: ResourceMonitorModel[] = [];
  (om.resource_monitors ?? []).forEach((m: ProtoObj, i: number) => {
    const p = `${path}.resource_monitors[${i}]`;
    const name = String(m.name ?? '');
    const kind = MONITOR_TYPES[typeUrlName(m.typed_config)] ?? (name === FIXED_HEAP ? 'fixed_heap' : name === GLOBAL_DOWNSTREAM_MAX_CONNECTIONS ? 'downstream_connections' : undefined);
    if (!kind) {
      ctx.error(p, `resource monitor "${name || typeUrlName(m.typed_config)}" is not supported (Legate has ${FIXED_HEAP} and ${GLOBAL_DOWNSTREAM_MAX_CONNECTIONS})`);
      return;
    }
    if (monitors.some((x) => x.name === name)) ctx.error(`${p}.name`, `duplicate resource monitor "${name}"`);
    const c = m.typed_config ?? {};
    if (kind === 'fixed_heap') {
      const max = Number(c.max_heap_size_bytes ?? 0);
      if (!(max > 0)) ctx.error(`${p}.typed_config.max_heap_size_bytes`, 'must be greater than 0');
      monitors.push({ kind, name, maxHeapSizeBytes: max });
    } else {
      const max = Number(c.max_active_downstream_connections ?? 0);
      if (!(max > 0)) ctx.error(`${p}.typed_config.max_active_downstream_connections`, 'must be greater than 0');
      monitors.push({ kind, name, maxConnections: max });
    }
  });
  const known = new Set(monitors.map((m) => m.name));

  const triggersOf = (list: ProtoObj[] | undefined, p: string): OverloadTriggerModel[] => {
    const out: OverloadTriggerModel[] = [];
    (list ?? []).forEach((t: ProtoObj, j: number) => {
      const tp = `${p}.triggers[${j}]`;
      const monitor = String(t.name ?? '');
      if (!known.has(monitor)) ctx.error(`${tp}.name`, `unknown resource monitor "${monitor}"`);
      if (t.threshold) {
        const v = Number(t.threshold.value ?? 0);
        out.push({ monitor, saturation: v, scaling: v });
      } else if (t.scaled) {
        const scaling = Number(t.scaled.scaling_threshold ?? 0);
        const saturation = Number(t.scaled.saturation_threshold ?? 0);
        if (!(scaling < saturation)) ctx.error(`${tp}.scaled`, `scaling_threshold (${scaling}) must be below saturation_threshold (${saturation})`);
        out.push({ monitor, saturation, scaling });
      } else {
        ctx.error(tp, 'a trigger needs threshold or scaled');
      }
    });
    if (out.length === 0) ctx.error(`${p}.triggers`, 'at least one trigger is required');
    return out;
  };

  const actions: OverloadActionModel[] = [];
  (om.actions ?? []).forEach((a: ProtoObj, i: number) => {
    const p = `${path}.actions[${i}]`;
    const name = String(a.name ?? '');
    const kind = ACTIONS[name];
    if (!kind) {
      if (name in SKIPPED_ACTIONS) {
        ctx.warn(`${p}.name`, `overload action "${name}" is not implemented: ${SKIPPED_ACTIONS[name]}`);
        triggersOf(a.triggers, p);
      } else {
        ctx.error(`${p}.name`, `unknown overload action "${name}"`);
      }
      return;
    }
    actions.push({ name, kind, triggers: triggersOf(a.triggers, p) });
  });
  (om.loadshed_points ?? []).forEach((l: ProtoObj, i: number) => {
    const p = `${path}.loadshed_points[${i}]`;
    const name = String(l.name ?? '');
    const kind = LOAD_SHED_POINTS[name];
    if (!kind) {
      ctx.warn(`${p}.name`, `load shed point "${name}" is not implemented: nothing is shed there`);
      return;
    }
    actions.push({ name, kind, triggers: triggersOf(l.triggers, p) });
  });
  if (om.buffer_factory_config) ctx.warn(`${path}.buffer_factory_config`, 'has no effect in Legate (Node manages buffers)');

  return { refreshIntervalMs: Math.max(10, durationMs(om.refresh_interval, 1000)), monitors, actions };
}
