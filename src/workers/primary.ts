/**
 * `--concurrency N` (N ≥ 2): this process is Envoy's main thread and N worker processes are its
 * workers. The primary loads the bootstrap, runs admin, xDS (one ADS stream; ACK/NACK decided
 * here, so a rejected config never reaches a worker) and the active health checkers; the workers
 * share the listening sockets (node:cluster) and run the data path.
 *
 * The Server is the same as in one process, with two parts swapped: a cluster manager that
 * remembers what it reconciled, and the worker pool in place of the listener manager. Admin
 * endpoints that read or change the data path ask the workers (/ready, /stats, /clusters,
 * /healthcheck/fail|ok, /reopen_logs, /reset_counters, /drain_listeners).
 */
import cluster from 'node:cluster';
import type { AdminServer } from '../admin/admin-server';
import { reopenAccessLogs } from '../access-log/access-logger';
import type { CommandLineOptions } from '../cli/options';
import { logger, reopenLogs } from '../common/logger';
import type { ServerParts, Server } from '../server/server';
import { clustersText } from '../server/clusters-text';
import { serverHealth } from '../server/server-health';
import type { BootstrapModel } from '../snapshot/model';
import type { StatsSnapshot } from '../stats/store';
import type { ProtoObj } from '../xds/resources/decode-context';
import { mergeClustersJson, mergeClustersText } from './clusters-merge';
import { HealthBroadcast } from './health-broadcast';
import { PublishedClusterManager } from './published-clusters';
import { mergeStats } from './stats-merge';
import { WorkerPool } from './worker-pool';

const log = logger('main');
const TEXT = 'text/plain; charset=UTF-8';

/**
 * How the primary hands connections to workers, unless NODE_CLUSTER_SCHED_POLICY says otherwise:
 * SCHED_NONE, every worker accepts on the shared socket itself (no hop through the primary).
 * Measured against SCHED_RR in bench/NOTES.md ("--concurrency").
 */
function chooseSchedulingPolicy(): void {
  if (process.env['NODE_CLUSTER_SCHED_POLICY'] === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
}

export class Primary {
  readonly pool: WorkerPool;
  readonly parts: ServerParts;
  private server: Server | undefined;

  constructor(workers: number, bootstrap: BootstrapModel, options: CommandLineOptions, bootstrapProto: ProtoObj) {
    chooseSchedulingPolicy();
    cluster.setupPrimary({ serialization: 'advanced' });
    const health = new HealthBroadcast((updates) => this.pool.sendHealth(updates));
    const clusters = new PublishedClusterManager({ onHostChecked: health.onHostChecked });
    this.pool = new WorkerPool(workers, bootstrap, clusters, {
      currentHealth: () => health.current(),
      onImmediateFailure: (name, hash, hostKey) => {
        const c = clusters.get(name);
        if (!c || c.model.hash !== hash) return;
        const host = c.allHosts().find((h) => h.key === hostKey);
        if (host) c.healthChecker?.immediateFailure(host);
      },
      healthCheckFailed: () => serverHealth.healthCheckFailed,
      statsConfig: { bootstrapProto, cliTags: options.statsTags },
      onPublish: (snapshot) => health.retain(snapshot.clusters),
    });
    const merged = async (local: () => StatsSnapshot): Promise<StatsSnapshot> => {
      const workersStats = await this.pool.gatherStats();
      return mergeStats(local(), [...workersStats, ...this.pool.retired.asWorkerStats()]);
    };
    this.parts = {
      clusters,
      listeners: this.pool,
      registerAdmin: (admin) => this.registerAdmin(admin, clusters),
      stats: {
        merged,
        onResetCounters: () => {
          this.pool.retired.reset();
          this.pool.broadcast({ t: 'reset_counters' });
        },
      },
    };
    log.info(`--concurrency ${workers}: ${workers} worker processes share the listeners (scheduling: ${cluster.schedulingPolicy === cluster.SCHED_RR ? 'round-robin through the primary' : 'each worker accepts'})`);
  }

  /** Starts the workers; they serve once the server publishes its first snapshot. */
  start(server: Server): void {
    this.server = server;
    this.pool.start();
  }

  /** SIGUSR1: this process' logs and every worker's. */
  reopenLogs(): void {
    reopenLogs();
    reopenAccessLogs();
    this.pool.broadcast({ t: 'reopen_logs' });
  }

  private registerAdmin(admin: AdminServer, clusters: PublishedClusterManager): void {
    admin.register('/ready', {
      help: 'print server state, return 200 if LIVE, otherwise return 503',
      mutates: false,
      handle: () => {
        // LIVE once the primary is and every worker serves the initial configuration.
        const state = this.server?.reportedState ?? 'PRE_INITIALIZING';
        const shown = state === 'LIVE' && !this.pool.allApplied ? 'INITIALIZING' : state;
        return { status: shown === 'LIVE' ? 200 : 503, contentType: TEXT, body: `${shown}\n` };
      },
    });
    admin.register('/clusters', {
      help: 'upstream cluster status',
      mutates: false,
      handle: async (url) => {
        const json = url.searchParams.get('format') === 'json';
        const workers = await this.pool.gatherStats();
        const own = clustersText(clusters, json);
        return { status: 200, contentType: json ? 'application/json' : TEXT, body: json ? mergeClustersJson(own, workers) : mergeClustersText(own, workers) };
      },
    });
    for (const failed of [true, false]) {
      admin.register(failed ? '/healthcheck/fail' : '/healthcheck/ok', {
        help: failed ? 'cause the server to fail health checks' : 'cause the server to pass health checks',
        mutates: true,
        handle: () => {
          serverHealth.healthCheckFailed = failed;
          this.pool.broadcast({ t: 'healthcheck', failed });
          return { status: 200, contentType: TEXT, body: 'OK\n' };
        },
      });
    }
    admin.register('/reopen_logs', {
      help: 'reopen access logs',
      mutates: true,
      handle: () => {
        this.reopenLogs();
        return { status: 200, contentType: TEXT, body: 'OK\n' };
      },
    });
  }
}
