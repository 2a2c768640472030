/**
 * The primary's view of its `--concurrency` worker processes, standing in for the
 * ListenerManager (the primary binds no listener itself): every listener apply becomes a
 * snapshot sent to each worker, with the clusters reconciled just before it. Workers that die
 * are started again and get the current snapshot and health first. Drain and shutdown go to
 * every worker; a worker counts as "streams in flight" until it exits, so the server's drain
 * loop waits for all of them.
 */
import cluster, { type Worker } from 'node:cluster';
import { logger } from '../common/logger';
import type { ListenerSpec } from '../listener/listener-manager';
import type { ListenerSet } from '../server/server';
import type { BootstrapModel, ListenerModel } from '../snapshot/model';
import { formatAddress } from '../snapshot/model';
import type { FromWorker, HostHealthUpdate, ToWorker, WorkerStats } from './messages';
import { WORKER_INDEX_ENV } from '../common/process-role';
import type { PublishedClusterManager } from './published-clusters';
import { RetiredStats } from './retired-stats';
import { SnapshotEncoder, type AppliedSnapshot } from './snapshot-codec';
import { FLUSH_INTERVAL_MS } from '../stats/store';

const log = logger('main');

/** A worker that dies sooner than this after starting is restarted after {@link RESTART_BACKOFF_MS}. */
const CRASH_LOOP_MS = 2000;
const RESTART_BACKOFF_MS = 1000;
/** How long an apply waits for a worker to report its bind errors (workers start in parallel with the primary). */
const APPLY_WAIT_MS = 10_000;
/** How long admin reads (/stats, /clusters) wait for a worker's numbers before leaving them out. */
const STATS_TIMEOUT_MS = 2000;

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  encoder: SnapshotEncoder;
  startedAt: number;
  /** Sequence number of the latest snapshot this worker reported serving (0: none yet). */
  appliedSeq: number;
  boundAddresses: Readonly<Record<string, string>>;
  /** Whether this worker process got a snapshot yet (the first is followed by the current health). */
  snapshotSent: boolean;
  /** The worker said hello: it receives messages from now on. */
  listening: boolean;
}

export interface WorkerPoolHooks {
  /** Current health results, sent to a worker after its first snapshot. */
  readonly currentHealth: () => readonly HostHealthUpdate[];
  /** A worker saw x-envoy-immediate-health-check-fail from a host. */
  readonly onImmediateFailure: (cluster: string, clusterHash: string, host: string) => void;
  /** Server-wide state a new worker starts with. */
  readonly healthCheckFailed: () => boolean;
  readonly statsConfig: Extract<ToWorker, { t: 'init' }>['statsConfig'];
  /** A snapshot is about to be sent to the workers. */
  readonly onPublish: (snapshot: AppliedSnapshot) => void;
}

export class WorkerPool implements ListenerSet {
  private readonly slots: Slot[] = [];
  private specs: readonly ListenerSpec[] = [];
  private specsByName = new Map<string, ListenerSpec>();
  /** Listeners drained by /drain_listeners (a worker started later drains them too). */
  private readonly drained = new Set<string>();
  /** What all() returned last, by listener name. */
  private listed = new Map<string, { model: ListenerModel; boundAddress: string }>();
  private latest: AppliedSnapshot | undefined;
  private seq = 0;
  private shuttingDown = false;
  private nextRequestId = 1;
  private readonly pendingStats = new Map<number, { want: number; got: WorkerStats[]; done: (s: WorkerStats[]) => void }>();
  private lastConnections = 0;
  /** Counters of workers that died, as last read (merged counters do not go back). */
  readonly retired = new RetiredStats();
  private initiallyApplied = false;
  /** apply() calls waiting for the first worker to serve their snapshot. */
  private readonly applyWaiters = new Map<number, (errors: readonly string[]) => void>();

  constructor(
    size: number,
    private readonly bootstrap: BootstrapModel,
    private readonly clusters: PublishedClusterManager,
    private readonly hooks: WorkerPoolHooks,
  ) {
    for (let i = 0; i < size; i++) this.slots.push({ index: i, worker: undefined, encoder: new SnapshotEncoder(), startedAt: 0, appliedSeq: 0, boundAddresses: {}, snapshotSent: false, listening: false });
  }

  /** Forks every worker (they wait for their first snapshot). */
  start(): void {
    for (const s of this.slots) this.fork(s);
    // Read the workers' numbers every stats flush interval (as Envoy's main thread merges its
    // workers' histograms), so a worker that dies loses at most one interval of counts.
    setInterval(() => {
      if (!this.shuttingDown) void this.gatherStats();
    }, FLUSH_INTERVAL_MS).unref();
  }

  /** True once every worker served the snapshot current when it started (latched: a restart does not un-ready the server). */
  get allApplied(): boolean {
    if (!this.initiallyApplied && this.seq > 0 && this.slots.every((s) => s.appliedSeq > 0)) this.initiallyApplied = true;
    return this.initiallyApplied;
  }

  // === ListenerSet ===

  async apply(specs: readonly ListenerSpec[]): Promise<string[]> {
    this.specs = specs;
    this.specsByName = new Map(specs.map((s) => [s.model.name, s]));
    const latest = this.clusters.latest;
    this.latest = { clusters: latest.models, warmHealthChecked: latest.warmHealthChecked, listeners: specs };
    const seq = ++this.seq;
    this.hooks.onPublish(this.latest);
    for (const s of this.slots) if (s.listening) this.sendSnapshot(s, seq);
    // The listeners that could not bind, as the first worker to apply this snapshot found them
    // (the workers bind the same sockets): at startup they fail the server, as in one process.
    const errors = await new Promise<readonly string[]>((resolve) => {
      const timer = setTimeout(() => {
        this.applyWaiters.delete(seq);
        resolve([]);
      }, APPLY_WAIT_MS);
      this.applyWaiters.set(seq, (e) => {
        clearTimeout(timer);
        this.applyWaiters.delete(seq);
        resolve(e);
      });
    });
    return [...errors];
  }

  specOf(name: string): ListenerSpec | undefined {
    return this.specsByName.get(name);
  }

  all(): ReadonlyArray<{ readonly model: ListenerModel; readonly boundAddress: string }> {
    const bound = this.slots.find((s) => s.appliedSeq > 0)?.boundAddresses ?? {};
    // One object per listener while its model is unchanged (the listener_modified stat compares them).
    const next = new Map<string, { model: ListenerModel; boundAddress: string }>();
    for (const s of this.specs) {
      const prev = this.listed.get(s.model.name);
      const entry = prev?.model === s.model ? prev : { model: s.model, boundAddress: '' };
      entry.boundAddress = bound[s.model.name] ?? (s.model.address.kind === 'tcp' ? '' : formatAddress(s.model.address));
      next.set(s.model.name, entry);
    }
    this.listed = next;
    return [...next.values()];
  }

  /** While shutting down: the workers still running (each exits once its own streams are done). */
  get activeStreams(): number {
    return this.shuttingDown ? this.slots.filter((s) => s.worker).length : 0;
  }

  /** Downstream connections of every worker, as last reported (0 once they all exited). */
  get activeConnections(): number {
    return this.slots.some((s) => s.worker) ? this.lastConnections : 0;
  }

  drainAll(): void {
    this.shuttingDown = true;
    this.broadcast({ t: 'shutdown' });
  }

  drainWhere(which: (model: ListenerModel) => boolean): void {
    const names = this.specs.filter((s) => which(s.model)).map((s) => s.model.name);
    for (const n of names) this.drained.add(n);
    this.broadcast({ t: 'drain', listeners: names });
  }

  closeAll(): void {
    this.shuttingDown = true;
    for (const s of this.slots) s.worker?.process.kill('SIGKILL');
  }

  // === To and from workers ===

  broadcast(m: ToWorker): void {
    for (const s of this.slots) this.send(s, m);
  }

  sendHealth(updates: readonly HostHealthUpdate[]): void {
    if (updates.length) this.broadcast({ t: 'health', updates });
  }

  /** Every live worker's stats; a worker that does not answer within `timeoutMs` is left out. */
  gatherStats(timeoutMs = STATS_TIMEOUT_MS): Promise<WorkerStats[]> {
    const live = this.slots.filter((s) => s.listening && s.worker?.isConnected());
    if (live.length === 0) return Promise.resolve([]);
    const id = this.nextRequestId++;
    return new Promise((resolve) => {
      const finish = (got: WorkerStats[]): void => {
        clearTimeout(timer);
        this.pendingStats.delete(id);
        this.lastConnections = got.reduce((n, w) => n + w.activeConnections, 0);
        this.retired.observe(got);
        resolve(got.sort((a, b) => a.index - b.index));
      };
      const timer = setTimeout(() => {
        const p = this.pendingStats.get(id);
        log.warn(`stats: ${live.length - (p?.got.length ?? 0)} worker(s) did not answer within ${timeoutMs} ms; their numbers are left out`);
        finish(p?.got ?? []);
      }, timeoutMs);
      this.pendingStats.set(id, { want: live.length, got: [], done: finish });
      for (const s of live) this.send(s, { t: 'stats', id });
    });
  }

  private fork(s: Slot): void {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(s.index) });
    s.worker = worker;
    s.encoder = new SnapshotEncoder();
    s.startedAt = Date.now();
    s.appliedSeq = 0;
    s.snapshotSent = false;
    s.listening = false;
    worker.on('message', (m: FromWorker) => this.onMessage(s, worker, m));
    worker.on('error', (err) => log.warn(`worker ${s.index}: ${err.message}`));
    worker.on('exit', (code, signal) => this.onExit(s, worker, code, signal));
    log.info(`worker ${s.index} started (pid ${worker.process.pid})`);
  }

  private sendSnapshot(s: Slot, seq: number): void {
    if (!this.latest) return;
    const first = !s.snapshotSent;
    s.snapshotSent = true;
    this.send(s, { t: 'snapshot', seq, snapshot: s.encoder.encode(this.latest) });
    if (first) {
      const health = this.hooks.currentHealth();
      if (health.length) this.send(s, { t: 'health', updates: health });
    }
  }

  private send(s: Slot, m: ToWorker): void {
    const w = s.worker;
    if (!w || !s.listening || !w.isConnected()) return;
    try {
      w.send(m);
    } catch (err) {
      log.warn(`worker ${s.index}: cannot send ${m.t}: ${(err as Error).message}`);
    }
  }

  private onMessage(s: Slot, worker: Worker, m: FromWorker): void {
    if (s.worker !== worker) return;
    switch (m.t) {
      case 'hello':
        s.listening = true;
        if (this.shuttingDown) {
          this.send(s, { t: 'shutdown' });
          break;
        }
        this.send(s, { t: 'init', bootstrap: this.bootstrap, statsConfig: this.hooks.statsConfig, healthCheckFailed: this.hooks.healthCheckFailed() });
        if (this.latest) this.sendSnapshot(s, this.seq);
        // Listeners drained by /drain_listeners stay drained in a worker started later.
        if (this.drained.size) this.send(s, { t: 'drain', listeners: [...this.drained] });
        break;
      case 'applied':
        s.appliedSeq = m.seq;
        s.boundAddresses = m.boundAddresses;
        // Snapshots apply in order: this answers every apply up to it.
        for (const [seq, done] of this.applyWaiters) if (seq <= m.seq) done(seq === m.seq ? m.errors : []);
        break;
      case 'stats': {
        const p = this.pendingStats.get(m.id);
        if (!p) break;
        p.got.push(m.stats);
        if (p.got.length === p.want) p.done(p.got);
        break;
      }
      case 'immediate_hc_fail':
        this.hooks.onImmediateFailure(m.cluster, m.clusterHash, m.host);
        break;
    }
  }

  private onExit(s: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (s.worker !== worker) return;
    s.worker = undefined;
    this.retired.retire(s.index);
    // A stats request waiting on this worker gets what the others answered.
    for (const p of this.pendingStats.values()) p.want--;
    for (const p of [...this.pendingStats.values()]) if (p.got.length >= p.want) p.done(p.got);
    if (this.shuttingDown) {
      log.info(`worker ${s.index} exited`);
      return;
    }
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const delay = Date.now() - s.startedAt < CRASH_LOOP_MS ? RESTART_BACKOFF_MS : 0;
    log.error(`worker ${s.index} (pid ${worker.process.pid}) died (${how}); restarting it${delay ? ` in ${delay} ms` : ''} with the current configuration`);
    setTimeout(() => {
      if (!this.shuttingDown && !s.worker) this.fork(s);
    }, delay);
  }
}
