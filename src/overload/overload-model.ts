/**
 * The bootstrap's `overload_manager` (envoy.config.overload.v3.OverloadManager), decoded.
 * Legate implements the subset a sidecar needs: a heap monitor and the global downstream
 * connection limit, driving request shedding, connection rejection and keep-alive.
 */

export const FIXED_HEAP = 'envoy.resource_monitors.fixed_heap';
export const GLOBAL_DOWNSTREAM_MAX_CONNECTIONS = 'envoy.resource_monitors.global_downstream_max_connections';

export type ResourceMonitorModel =
  /** Pressure = the process's allocated heap (V8 heap used + external memory) / `maxHeapSizeBytes`. */
  | { readonly kind: 'fixed_heap'; readonly name: string; readonly maxHeapSizeBytes: number }
  /** Proactive: a connection beyond `maxConnections` is refused when it arrives. */
  | { readonly kind: 'downstream_connections'; readonly name: string; readonly maxConnections: number };

/** When a trigger fires: at or above `value`, or (scaled) saturated at `saturation`. */
export interface OverloadTriggerModel {
  readonly monitor: string;
  /** Pressure (0..1) at which the action is fully applied. */
  readonly saturation: number;
  /** Pressure at which a scaled trigger starts scaling; equals `saturation` for a threshold trigger. */
  readonly scaling: number;
}

/** What an action does in Legate. */
export type OverloadActionKind =
  | 'stop_accepting_requests'
  | 'stop_accepting_connections'
  | 'disable_http_keepalive'
  | 'shrink_heap';

export interface OverloadActionModel {
  /** Envoy's name, e.g. `envoy.overload_actions.stop_accepting_requests` (stats are named after it). */
  readonly name: string;
  readonly kind: OverloadActionKind;
  readonly triggers: readonly OverloadTriggerModel[];
}

export interface OverloadManagerModel {
  readonly refreshIntervalMs: number;
  readonly monitors: readonly ResourceMonitorModel[];
  readonly actions: readonly OverloadActionModel[];
}
