/**
 * A `--concurrency` worker process: Envoy's worker thread. It serves the listeners and the data
 * path (router, pools, access logs, stats recording) from the snapshots the primary sends, and
 * nothing else: no admin, no xDS, no health checking (the primary's results arrive as
 * messages). Each snapshot is applied as the single process applies one (clusters first, in
 * slices, then listeners), one at a time, in arrival order.
 */
import process from 'node:process';
import { flushAccessLogs, reopenAccessLogs } from '../access-log/access-logger';
import type { CommandLineOptions } from '../cli/options';
import { logger, reopenLogs } from '../common/logger';
import { ListenerManager } from '../listener/listener-manager';
import { overloadManager } from '../overload/overload-manager';
import { serverHealth } from '../server/server-health';
import { clusterStats, statsStore } from '../stats';
import { istioMetrics } from '../stats/istio/istio-metrics';
import { statsSettings } from '../stats/stats-config';
import { ClusterManager } from '../upstream/cluster-manager';
import type { FromWorker, ToWorker, WorkerStats } from './messages';
import { releaseOptimizingCompiler } from '../common/startup-tiering';
import { WORKER_INDEX_ENV } from '../common/process-role';
import { RemoteHealth } from './remote-health';
import { SnapshotDecoder, type EncodedSnapshot } from './snapshot-codec';

const log = logger('main');

/** Runs this process as worker `LEGATE_WORKER_INDEX`; resolves with the exit code. */
export function runWorker(options: CommandLineOptions): Promise<number> {
  return new Promise((resolve) => new WorkerProcess(options, resolve).start());
}

class WorkerProcess {
  private readonly index = Number(process.env[WORKER_INDEX_ENV] ?? 0);
  private readonly health = new RemoteHealth((cluster, clusterHash, host) => this.send({ t: 'immediate_hc_fail', cluster, clusterHash, host }));
  private clusters: ClusterManager | undefined;
  private listeners: ListenerManager | undefined;
  private readonly decoder = new SnapshotDecoder();
  /** Snapshots apply one after another, in arrival order. */
  private applying: Promise<void> = Promise.resolve();
  private initialized = false;
  /** No snapshot is applied any more (a shutdown is queued or running). */
  private exiting = false;
  private shuttingDown = false;

  constructor(private readonly options: CommandLineOptions, private readonly exit: (code: number) => void) {}

  start(): void {
    // `ps` tells the workers from the primary.
    process.title = `legate worker ${this.index}`;
    // The primary coordinates shutdown (a terminal's Ctrl-C reaches the whole process group).
    process.on('SIGTERM', () => undefined);
    process.on('SIGINT', () => undefined);
    process.on('SIGUSR1', () => this.reopenLogs());
    process.on('message', (m: ToWorker) => this.onMessage(m));
    // The primary went away: nobody manages this worker any more.
    process.on('disconnect', () => this.shutdown(true));
    this.send({ t: 'hello' });
  }

  private onMessage(m: ToWorker): void {
    switch (m.t) {
      case 'init': {
        serverHealth.healthCheckFailed = m.healthCheckFailed;
        serverHealth.localClusterName = m.bootstrap.node.cluster;
        istioMetrics().setNode(m.bootstrap.node.metadata);
        overloadManager.start(m.bootstrap.overload);
        const settings = statsSettings(m.statsConfig.bootstrapProto, m.statsConfig.cliTags);
        statsStore().configure(settings.tagProducer, settings.matcher);
        const clusters = new ClusterManager({ healthCheckerFactory: this.health.factory });
        this.clusters = clusters;
        this.listeners = new ListenerManager(clusters, this.options.fileFlushIntervalMs, this.options.drainTimeMs);
        clusterStats().attach(statsStore(), clusters);
        statsStore().startFlushing();
        this.initialized = true;
        break;
      }
      case 'snapshot':
        this.queue(`applying snapshot ${m.seq}`, () => this.apply(m.seq, m.snapshot));
        break;
      case 'health':
        // After the snapshot before it (a result may be for a cluster that snapshot builds).
        this.queue('applying health results', () => this.health.apply(m.updates));
        break;
      case 'stats':
        this.send({ t: 'stats', id: m.id, stats: this.stats() });
        break;
      case 'reset_counters':
        statsStore().resetCounters();
        break;
      case 'drain': {
        // After the snapshot before it: a listener it binds is drained too.
        const names = new Set(m.listeners);
        this.queue('draining listeners', () => this.listeners?.drainWhere((l) => names.has(l.name)));
        break;
      }
      case 'shutdown':
        this.exiting = true;
        this.queue('shutting down', () => this.shutdown(false));
        break;
      case 'healthcheck':
        serverHealth.healthCheckFailed = m.failed;
        break;
      case 'reopen_logs':
        this.reopenLogs();
        break;
    }
  }

  /** Runs `step` after every step queued before it; a failure is logged and the next step still runs. */
  private queue(what: string, step: () => unknown): void {
    this.applying = this.applying.then(step).then(() => undefined, (err: Error) => log.error(`worker ${this.index}: ${what} failed: ${err.stack ?? err.message}`));
  }

  private async apply(seq: number, encoded: EncodedSnapshot): Promise<void> {
    if (!this.initialized || !this.clusters || !this.listeners || this.exiting) return;
    const snap = this.decoder.decode(encoded);
    await this.clusters.reconcileInSlices(snap.clusters, undefined, { warmHealthChecked: snap.warmHealthChecked });
    this.health.retain(snap.clusters);
    const errors = await this.listeners.apply(snap.listeners);
    for (const e of errors) log.error(`worker ${this.index}: ${e}`);
    const boundAddresses: Record<string, string> = {};
    for (const l of this.listeners.all()) boundAddresses[l.model.name] = l.boundAddress;
    this.send({ t: 'applied', seq, boundAddresses, errors });
    // Serving from here on: request code is worth optimizing (see startup-tiering.ts).
    releaseOptimizingCompiler();
  }

  private stats(): WorkerStats {
    const snap = statsStore().snapshot();
    const hosts: Array<[string, string, Record<string, number>]> = [];
    for (const c of this.clusters?.all() ?? []) for (const h of c.allHosts()) hosts.push([c.name, h.key, { ...h.stats }]);
    return {
      index: this.index,
      counters: snap.counters.map((v) => [v.name, v.value, v.used] as const),
      gauges: snap.gauges.map((v) => [v.name, v.value, v.used] as const),
      histograms: snap.histograms.map((h) => [h.name, h.histogram.exportBins()] as const),
      hosts,
      activeConnections: this.listeners?.activeConnections ?? 0,
      memory: process.memoryUsage(),
    };
  }

  /** Drain (stop accepting, GOAWAY), wait for streams and connections up to the drain time, exit 0. */
  private shutdown(now: boolean): void {
    if (this.shuttingDown && !now) return;
    this.shuttingDown = true;
    this.exiting = true;
    const listeners = this.listeners;
    listeners?.drainAll();
    const deadline = Date.now() + (now ? 0 : this.options.drainTimeMs);
    const check = (): void => {
      const busy = listeners ? listeners.activeStreams + listeners.activeConnections : 0;
      if (busy > 0 && Date.now() < deadline) {
        setTimeout(check, 50);
        return;
      }
      overloadManager.stop();
      listeners?.closeAll();
      this.clusters?.destroy();
      flushAccessLogs();
      this.exit(0);
    };
    check();
  }

  private reopenLogs(): void {
    reopenLogs();
    reopenAccessLogs();
  }

  private send(m: FromWorker): void {
    if (process.connected) process.send?.(m);
  }
}

