/**
 * Envoy's overload manager, the subset a sidecar needs (server/overload_manager_impl.cc):
 * resource monitors sampled every `refresh_interval`, actions whose state follows their
 * triggers, and the hot-path flags the listener and the HTTP connection manager read.
 *
 * The global downstream connection limit is proactive, as Envoy's: each accepted connection
 * takes one unit, and one beyond the limit is refused at once, whatever the refresh timer.
 */
import { logger } from '../common/logger';
import { statsStore } from '../stats';
import { sanitizeStatName } from '../stats/tables';
import type { OverloadActionModel, OverloadManagerModel, ResourceMonitorModel } from './overload-model';

const log = logger('main');

const MONITOR_STATS = { pressure: 'gauge', failed_updates: 'counter', skipped_updates: 'counter' } as const;
const ACTION_STATS = { active: 'gauge', scale_percent: 'gauge' } as const;

interface MonitorState {
  readonly model: ResourceMonitorModel;
  readonly stats: { pressure: number; failed_updates: number; skipped_updates: number };
  /** Last sampled pressure, 0..1 (and above, past the limit). */
  pressure: number;
}

interface ActionState {
  readonly model: OverloadActionModel;
  readonly stats: { active: number; scale_percent: number };
  saturated: boolean;
}

/** Scale (0..1) of one trigger at `pressure`. */
function triggerScale(pressure: number, scaling: number, saturation: number): number {
  if (pressure >= saturation) return 1;
  if (pressure <= scaling || saturation === scaling) return 0;
  return (pressure - scaling) / (saturation - scaling);
}

export class OverloadManager {
  /** envoy.overload_actions.stop_accepting_requests is saturated: answer new requests 503 (OL). */
  stopAcceptingRequests = false;
  /** stop_accepting_connections / reject_incoming_connections is saturated: refuse new connections. */
  stopAcceptingConnections = false;
  /** disable_http_keepalive is saturated: close connections after their current exchange. */
  disableKeepalive = false;

  private monitors: MonitorState[] = [];
  private actions: ActionState[] = [];
  private timer: NodeJS.Timeout | undefined;
  private connections = 0;
  private maxConnections = Number.POSITIVE_INFINITY;
  private connectionMonitor: MonitorState | undefined;

  /** Starts sampling with `model`; without one (no overload_manager in the bootstrap) nothing runs. */
  start(model: OverloadManagerModel | undefined): void {
    this.stop();
    if (!model) return;
    this.monitors = model.monitors.map((m) => ({ model: m, pressure: 0, stats: statsStore().table(`overload.${sanitizeStatName(m.name)}.`, MONITOR_STATS) }));
    this.actions = model.actions.map((a) => ({ model: a, saturated: false, stats: statsStore().table(`overload.${sanitizeStatName(a.name)}.`, ACTION_STATS) }));
    this.connectionMonitor = this.monitors.find((m) => m.model.kind === 'downstream_connections');
    this.maxConnections = this.connectionMonitor?.model.kind === 'downstream_connections' ? this.connectionMonitor.model.maxConnections : Number.POSITIVE_INFINITY;
    this.refresh();
    this.timer = setInterval(() => this.refresh(), model.refreshIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.monitors = [];
    this.actions = [];
    this.connectionMonitor = undefined;
    this.maxConnections = Number.POSITIVE_INFINITY;
    this.stopAcceptingRequests = this.stopAcceptingConnections = this.disableKeepalive = false;
  }

  /**
   * Takes one unit of the global downstream connection limit for a new connection; false when
   * the limit is reached (the caller refuses the connection and must not call release).
   */
  tryAcceptConnection(): boolean {
    if (this.connections >= this.maxConnections) return false;
    this.connections++;
    return true;
  }

  releaseConnection(): void {
    if (this.connections > 0) this.connections--;
  }

  /** Samples every monitor and recomputes every action. */
  refresh(): void {
    for (const m of this.monitors) {
      try {
        m.pressure = this.sample(m.model);
        m.stats.pressure = Math.round(m.pressure * 100);
      } catch (err) {
        m.stats.failed_updates++;
        log.debug(`resource monitor ${m.model.name}: ${(err as Error).message}`);
      }
    }
    let requests = false;
    let connections = false;
    let keepalive = false;
    for (const a of this.actions) {
      let scale = 0;
      for (const t of a.model.triggers) {
        const m = this.monitors.find((x) => x.model.name === t.monitor);
        if (m) scale = Math.max(scale, triggerScale(m.pressure, t.scaling, t.saturation));
      }
      const saturated = scale >= 1;
      if (saturated !== a.saturated) log.warn(`overload action ${a.model.name} ${saturated ? 'saturated' : 'cleared'}`);
      a.saturated = saturated;
      a.stats.active = saturated ? 1 : 0;
      a.stats.scale_percent = Math.round(scale * 100);
      if (!saturated) continue;
      if (a.model.kind === 'stop_accepting_requests') requests = true;
      else if (a.model.kind === 'stop_accepting_connections') connections = true;
      else if (a.model.kind === 'disable_http_keepalive') keepalive = true;
      // shrink_heap: V8 collects and returns memory to the system by itself; nothing to do.
    }
    this.stopAcceptingRequests = requests;
    this.stopAcceptingConnections = connections;
    this.disableKeepalive = keepalive;
  }

  private sample(m: ResourceMonitorModel): number {
    if (m.kind === 'fixed_heap') {
      const u = process.memoryUsage();
      return (u.heapUsed + u.external) / m.maxHeapSizeBytes;
    }
    return this.connections / m.maxConnections;
  }
}

/** The process's overload manager (one per process, as Envoy's). */
export const overloadManager = new OverloadManager();
