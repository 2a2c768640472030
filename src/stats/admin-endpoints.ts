/**
 * The stats admin endpoints and the process-level sources (`server.*`, `cluster_manager.*`,
 * `listener_manager.*`, `cluster.*`):
 *
 *   GET  /stats              `name: value` text; `?format=json|prometheus`, `?filter=<re2>`, `?usedonly`
 *   GET  /stats/prometheus   Prometheus text 0.0.4 as Envoy writes it; `?filter=`, `?usedonly`
 *   POST /reset_counters     every counter back to 0
 */
import type { AdminHandler } from '../admin/admin-server';
import { compileRe2 } from '../router/re2-regex';
import { clusterStats, type ClusterSource } from './cluster-stats';
import { renderPrometheus, type RenderOptions } from './prometheus';
import { statsSettings } from './stats-config';
import { statsStore, type StatsSnapshot, type StatsStore } from './store';
import type { Tag } from './tag-producer';
import { renderJson, renderText } from './text';

const TEXT = 'text/plain; charset=UTF-8';
const JSON_TYPE = 'application/json';

/** What the endpoints read from the server. */
export interface StatsServerView {
  /** `envoy.admin.v3.ServerInfo.State` name: PRE_INITIALIZING, INITIALIZING, LIVE, DRAINING. */
  readonly state: string;
  readonly clusters: ClusterSource;
  readonly listeners: { all(): ReadonlyArray<{ readonly model: { readonly name: string } }>; readonly activeConnections: number };
}

export interface StatsEndpointOptions {
  /** The decoded bootstrap (its `stats_config`). */
  readonly bootstrapProto?: Record<string, unknown>;
  /** `--stats-tag` values. */
  readonly cliTags?: readonly Tag[];
  /** `--concurrency`. */
  readonly concurrency: number;
  /** Process start, epoch ms (`server.uptime`). */
  readonly startedAtMs: number;
  /**
   * `--concurrency` primary: the stats to render, this process' (`local`, read when called)
   * merged with the workers' (src/workers/stats-merge.ts).
   */
  readonly merged?: (local: () => StatsSnapshot) => Promise<StatsSnapshot>;
  /** `--concurrency` primary: `/reset_counters` also resets the workers'. */
  readonly onResetCounters?: () => void;
}

/** Where handlers are registered (the AdminServer). */
export interface AdminRegistry {
  register(path: string, handler: AdminHandler): void;
}

const STATE_NUMBER: Readonly<Record<string, number>> = { LIVE: 0, DRAINING: 1, PRE_INITIALIZING: 2, INITIALIZING: 3 };

/**
 * Configures the store from the bootstrap, registers the process sources, starts the histogram
 * interval flush and registers `/stats`, `/stats/prometheus` and `/reset_counters`.
 * @throws Error naming the field if `stats_config` has an invalid regex.
 */
export function registerStatsEndpoints(admin: AdminRegistry, server: StatsServerView, options: StatsEndpointOptions, store: StatsStore = statsStore()): void {
  const settings = statsSettings(options.bootstrapProto, options.cliTags);
  store.configure(settings.tagProducer, settings.matcher);
  clusterStats().attach(store, server.clusters);
  store.addSource(serverSource(server, options));
  store.startFlushing();
  const local = (): StatsSnapshot => store.snapshot();
  const merged = options.merged;

  const stats = (url: URL, o: RenderOptions, snap: StatsSnapshot): { status: number; contentType: string; body: string } => {
    const format = url.searchParams.get('format') ?? 'text';
    if (format === 'json') return { status: 200, contentType: JSON_TYPE, body: renderJson(snap, o) };
    if (format === 'prometheus') return { status: 200, contentType: TEXT, body: renderPrometheus(store, snap, o) };
    if (format === 'text') return { status: 200, contentType: TEXT, body: renderText(snap, o) };
    return { status: 400, contentType: TEXT, body: `usage: /stats?format=(text|json|prometheus)\n` };
  };
  admin.register('/stats', {
    help: 'print server stats',
    mutates: false,
    handle: (url) => {
      const o = renderOptions(url);
      if (typeof o === 'string') return { status: 400, contentType: TEXT, body: o };
      return merged ? merged(local).then((snap) => stats(url, o, snap)) : stats(url, o, local());
    },
  });
  admin.register('/stats/prometheus', {
    help: 'print server stats in prometheus format',
    mutates: false,
    handle: (url) => {
      const o = renderOptions(url);
      if (typeof o === 'string') return { status: 400, contentType: TEXT, body: o };
      const render = (snap: StatsSnapshot) => ({ status: 200, contentType: TEXT, body: renderPrometheus(store, snap, o) });
      return merged ? merged(local).then(render) : render(local());
    },
  });
  admin.register('/reset_counters', {
    help: 'reset all counters to zero',
    mutates: true,
    handle: () => {
      store.resetCounters();
      options.onResetCounters?.();
      return { status: 200, contentType: TEXT, body: 'OK\n' };
    },
  });
}

function renderOptions(url: URL): RenderOptions | string {
  const usedOnly = url.searchParams.has('usedonly');
  const f = url.searchParams.get('filter');
  if (f === null || f === '') return { usedOnly };
  // Envoy matches the filter anywhere in the name (RE2 partial match).
  const c = compileRe2(`[\\s\\S]*?(?:${f})[\\s\\S]*`);
  if (!c.ok) return `Invalid re2 regex: ${c.error}\n`;
  return { usedOnly, filter: c.regex };
}

/**
 * `server.*`, `cluster_manager.*`, `listener_manager.*`. The added/modified/removed counters
 * are counted by comparing what is live each time stats are read or flushed (every 5 s).
 */
function serverSource(server: StatsServerView, o: StatsEndpointOptions) {
  const seenClusters = new Map<string, unknown>();
  const seenListeners = new Map<string, unknown>();
  const changes = { cluster_added: 0, cluster_modified: 0, cluster_removed: 0, listener_added: 0, listener_modified: 0, listener_removed: 0 };
  const diff = <T>(seen: Map<string, unknown>, live: ReadonlyArray<T>, key: (t: T) => string, kind: 'cluster' | 'listener'): void => {
    const now = new Map<string, unknown>();
    for (const x of live) now.set(key(x), x);
    for (const [k, x] of now) {
      const prev = seen.get(k);
      if (prev === undefined) changes[`${kind}_added`]++;
      else if (prev !== x) changes[`${kind}_modified`]++;
    }
    for (const k of seen.keys()) if (!now.has(k)) changes[`${kind}_removed`]++;
    seen.clear();
    for (const [k, x] of now) seen.set(k, x);
  };
  return (sink: import('./store').StatSink): void => {
    const clusters = server.clusters.all();
    const listeners = server.listeners.all();
    diff(seenClusters, clusters, (c) => c.model.name, 'cluster');
    diff(seenListeners, listeners, (l) => l.model.name, 'listener');
    const mem = process.memoryUsage();
    const state = server.state;
    sink.gauge('server.live', state === 'DRAINING' ? 0 : 1, true);
    sink.gauge('server.state', STATE_NUMBER[state] ?? 0, true);
    sink.gauge('server.uptime', Math.floor((Date.now() - o.startedAtMs) / 1000), true);
    sink.gauge('server.concurrency', o.concurrency, true);
    sink.gauge('server.memory_allocated', mem.heapUsed, true);
    sink.gauge('server.memory_heap_size', mem.heapTotal, true);
    sink.gauge('server.memory_physical_size', mem.rss, true);
    sink.gauge('server.total_connections', server.listeners.activeConnections, true);
    sink.gauge('server.parent_connections', 0, true);
    sink.gauge('server.hot_restart_epoch', 0, true);
    sink.gauge('cluster_manager.active_clusters', clusters.length, true);
    sink.counter('cluster_manager.cluster_added', changes.cluster_added);
    sink.counter('cluster_manager.cluster_modified', changes.cluster_modified);
    sink.counter('cluster_manager.cluster_removed', changes.cluster_removed);
    sink.gauge('listener_manager.total_listeners_active', listeners.length, true);
    // 1 once the initial configuration is in and serving starts (Envoy's startWorkers); written
    // only then, so `?usedonly` hides it before, as Envoy's does. pilot-agent's readiness needs it.
    const workersStarted = state === 'LIVE' || state === 'DRAINING';
    sink.gauge('listener_manager.workers_started', workersStarted ? 1 : 0, workersStarted);
    sink.counter('listener_manager.listener_added', changes.listener_added);
    sink.counter('listener_manager.listener_modified', changes.listener_modified);
    sink.counter('listener_manager.listener_removed', changes.listener_removed);
  };
}
