/**
 * The process-level object: builds the runtime from the bootstrap, binds listeners
 * and the admin API, reports readiness, and drains on shutdown (Envoy's server.cc).
 *
 * Startup order: clusters (first DNS answers) → listeners bound → LIVE.
 * Shutdown: stop accepting, GOAWAY every downstream connection, let streams in flight
 * finish within --drain-time-s, then close upstream pools and exit.
 */
import { hostname } from 'node:os';
import { AdminServer } from '../admin/admin-server';
import { registerAdminEndpoints } from '../admin/endpoints';
import { flushAccessLogs } from '../access-log/access-logger';
import type { CommandLineOptions } from '../cli/options';
import { toServerInfoCommandLineOptions } from '../cli/options';
import { versionString } from '../cli/version';
import { logger } from '../common/logger';
import { inlineRoutes, ListenerManager, type ListenerSpec } from '../listener/listener-manager';
import type { BootstrapModel, ListenerModel } from '../snapshot/model';
import { registerStatsEndpoints, type StatsEndpointOptions } from '../stats';
import { istioMetrics } from '../stats/istio/istio-metrics';
import { ClusterManager } from '../upstream/cluster-manager';
import type { ProtoObj } from '../xds/resources/decode-context';
import type { XdsManager } from '../xds/xds-manager';
import type { XdsTransport } from '../xds/xds-transport';
import { staticResourcesUseDiscovery } from '../xds/uses-discovery';
import { clustersText } from './clusters-text';
import { configDump } from './config-dump';
import { serverHealth } from './server-health';
import { overloadManager } from '../overload/overload-manager';

const log = logger('main');

/** envoy.admin.v3.ServerInfo.State */
export type ServerState = 'PRE_INITIALIZING' | 'INITIALIZING' | 'LIVE' | 'DRAINING';

/**
 * What serves the listeners: the ListenerManager in this process, or (`--concurrency N`) the
 * worker processes that run them (src/workers/worker-pool.ts).
 */
export interface ListenerSet {
  apply(specs: readonly ListenerSpec[]): Promise<string[]>;
  specOf(name: string): ListenerSpec | undefined;
  all(): ReadonlyArray<{ readonly model: ListenerModel; readonly boundAddress: string }>;
  readonly activeStreams: number;
  readonly activeConnections: number;
  drainAll(): void;
  drainWhere(which: (model: ListenerModel) => boolean): void;
  closeAll(): void;
}

/** Replaces parts of the server for the `--concurrency` primary (src/workers/primary.ts). */
export interface ServerParts {
  readonly clusters: ClusterManager;
  readonly listeners: ListenerSet;
  /** Registers admin endpoints after the server's own (same path: replaces it). */
  readonly registerAdmin?: (admin: AdminServer) => void;
  /** /stats merged with the workers' numbers. */
  readonly stats?: Pick<StatsEndpointOptions, 'merged' | 'onResetCounters'>;
}

export class Server {
  state: ServerState = 'PRE_INITIALIZING';
  readonly clusters: ClusterManager;
  readonly listeners: ListenerSet;
  xds: XdsManager | undefined;
  private transport: XdsTransport | undefined;
  private admin: AdminServer | undefined;
  private readonly startedAt = Date.now();
  private exiting: Promise<void> | undefined;

  constructor(
    private readonly bootstrap: BootstrapModel,
    private readonly options: CommandLineOptions,
    private readonly onExit: (code: number) => void,
    /** The decoded bootstrap, for /config_dump. */
    private readonly bootstrapProto: ProtoObj = {},
    private readonly parts?: ServerParts,
  ) {
    this.clusters = parts?.clusters ?? new ClusterManager();
    this.listeners = parts?.listeners ?? new ListenerManager(this.clusters, options.fileFlushIntervalMs, options.drainTimeMs);
    // Istio's stats filter labels the local side from node metadata.
    istioMetrics().setNode(bootstrap.node.metadata);
    serverHealth.localClusterName = bootstrap.node.cluster;
  }

  /**
   * The state admin and stats report (Envoy's `Utility::serverState`): once initialized, DRAINING
   * while the server fails health checks (`POST /healthcheck/fail`), so `/ready` answers 503.
   */
  get reportedState(): ServerState {
    return this.state === 'LIVE' && serverHealth.healthCheckFailed ? 'DRAINING' : this.state;
  }

  /** Builds everything and binds; rejects with a clear message (e.g. a port in use). */
  async start(): Promise<void> {
    this.state = 'INITIALIZING';
    overloadManager.start(this.bootstrap.overload);
    if (this.bootstrap.admin) {
      this.admin = new AdminServer(this.bootstrap.admin.address);
      this.registerAdmin(this.admin);
      await this.admin.listen();
    }
    this.clusters.reconcile(this.bootstrap.clusters);
    const staticSpecs: ListenerSpec[] = [];
    for (const l of this.bootstrap.listeners) {
      // Static listeners carry their routes inline (an RDS route in a static listener is not served).
      const routeConfigs = inlineRoutes(l);
      if (routeConfigs) staticSpecs.push({ model: l, routeConfigs });
    }
    const bindErrors = await this.listeners.apply(staticSpecs);
    if (bindErrors.length) {
      this.destroy();
      throw new Error(bindErrors.join('\n'));
    }
    await this.clusters.initialized();
    if (this.bootstrap.dynamic || staticResourcesUseDiscovery(this.bootstrap)) {
      // Loaded only here: a static bootstrap never needs the xDS manager and transport.
      const { XdsManager } = require('../xds/xds-manager') as typeof import('../xds/xds-manager');
      const { startXdsTransport } = require('../xds/xds-transport') as typeof import('../xds/xds-transport');
      const xds = new XdsManager(this.bootstrap, this.clusters, this.listeners);
      this.xds = xds;
      if (this.bootstrap.dynamic?.ads) this.transport = startXdsTransport(this.bootstrap, xds);
      xds.start(this.transport);
      await xds.ready;
    }
    this.state = 'LIVE';
    log.info(`all clusters initialized; server is LIVE (${this.listeners.all().length} listeners, ${this.clusters.all().length} clusters)`);
  }

  /**
   * Graceful shutdown: drain listeners, wait for streams and connections to finish
   * (bounded by --drain-time-s), then exit 0. A second call exits at once.
   */
  shutdown(reason: string): Promise<void> {
    if (this.exiting) {
      log.warn(`${reason} again: exiting now`);
      this.destroy();
      this.onExit(0);
      return this.exiting;
    }
    log.info(`${reason}: draining listeners (drain time ${this.options.drainTimeMs / 1000}s)`);
    this.state = 'DRAINING';
    this.listeners.drainAll();
    this.exiting = new Promise<void>((resolve) => {
      const deadline = Date.now() + this.options.drainTimeMs;
      const check = (): void => {
        const streams = this.listeners.activeStreams;
        const conns = this.listeners.activeConnections;
        if ((streams === 0 && conns === 0) || Date.now() >= deadline) {
          if (streams > 0 || conns > 0) log.warn(`drain time elapsed with ${streams} streams and ${conns} connections open; closing them`);
          this.destroy();
          resolve();
          this.onExit(0);
          return;
        }
        setTimeout(check, 50);
      };
      check();
    });
    return this.exiting;
  }

  /** Closes everything immediately. */
  destroy(): void {
    overloadManager.stop();
    this.transport?.close();
    this.xds?.close();
    this.listeners.closeAll();
    this.clusters.destroy();
    this.admin?.close();
    flushAccessLogs();
  }

  private registerAdmin(admin: AdminServer): void {
    const text = 'text/plain; charset=UTF-8';
    const json = 'application/json';
    admin.register('/ready', {
      help: 'print server state, return 200 if LIVE, otherwise return 503',
      mutates: false,
      handle: () => {
        const state = this.reportedState;
        return { status: state === 'LIVE' ? 200 : 503, contentType: text, body: `${state}\n` };
      },
    });
    admin.register('/server_info', {
      help: 'print server version/status information',
      mutates: false,
      handle: () => ({ status: 200, contentType: json, body: JSON.stringify(this.serverInfo(), null, 2) + '\n' }),
    });
    admin.register('/clusters', {
      help: 'upstream cluster status',
      mutates: false,
      handle: (url) => ({ status: 200, contentType: url.searchParams.get('format') === 'json' ? json : text, body: clustersText(this.clusters, url.searchParams.get('format') === 'json') }),
    });
    admin.register('/config_dump', {
      help: 'dump current Envoy configs',
      mutates: false,
      handle: (url) => configDump(url, { bootstrap: this.bootstrapProto, model: this.bootstrap, xds: this.xds, transport: this.transport }),
    });
    // /stats, /stats/prometheus, /reset_counters (and the server.*, cluster.* sources behind them).
    const server = this;
    registerStatsEndpoints(admin, {
      get state() { return server.reportedState; },
      clusters: this.clusters,
      listeners: this.listeners,
    }, { bootstrapProto: this.bootstrapProto, cliTags: this.options.statsTags, concurrency: this.options.concurrency, startedAtMs: this.startedAt, ...this.parts?.stats });
    registerAdminEndpoints(admin, this.listeners);
    admin.register('/quitquitquit', {
      help: 'exit the server',
      mutates: true,
      handle: () => {
        setImmediate(() => void this.shutdown('POST /quitquitquit'));
        return { status: 200, contentType: text, body: 'OK\n' };
      },
    });
    admin.register('/healthcheck/fail', {
      help: 'cause the server to fail health checks',
      mutates: true,
      handle: () => {
        serverHealth.healthCheckFailed = true;
        return { status: 200, contentType: text, body: 'OK\n' };
      },
    });
    admin.register('/healthcheck/ok', {
      help: 'cause the server to pass health checks',
      mutates: true,
      handle: () => {
        serverHealth.healthCheckFailed = false;
        return { status: 200, contentType: text, body: 'OK\n' };
      },
    });
    this.parts?.registerAdmin?.(admin);
  }

  /** True after POST /healthcheck/fail (used by the health_check filter). */
  get failingHealthChecks(): boolean {
    return serverHealth.healthCheckFailed;
  }

  private serverInfo(): Record<string, unknown> {
    const up = `${Math.floor((Date.now() - this.startedAt) / 1000)}s`;
    const node = this.bootstrap.node;
    return {
      version: versionString(),
      state: this.reportedState,
      hot_restart_version: 'disabled',
      command_line_options: toServerInfoCommandLineOptions(this.options),
      node: {
        id: node.id,
        cluster: node.cluster,
        metadata: node.metadata,
        locality: { region: node.locality.region, zone: node.locality.zone, sub_zone: node.locality.subZone },
        user_agent_name: 'legate',
        user_agent_build_version: { version: {}, metadata: { hostname: hostname() } },
      },
      uptime_current_epoch: up,
      uptime_all_epochs: up,
    };
  }
}
