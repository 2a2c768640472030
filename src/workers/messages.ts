/**
 * The messages between the `--concurrency` primary and its worker processes, over the
 * node:cluster IPC channel (advanced serialization: the config models' bigint, Set, Buffer and
 * shared references survive). The channel is ordered per worker: a snapshot, the health updates
 * after it and the next snapshot arrive in the order the primary sent them.
 */
import type { BootstrapModel } from '../snapshot/model';
import type { HistogramBins } from '../stats/histogram';
import type { Tag } from '../stats/tag-producer';
import type { EncodedSnapshot } from './snapshot-codec';

/** Primary → worker. */
export type ToWorker =
  /** First message: the validated bootstrap (workers never read the config file themselves). */
  | {
    readonly t: 'init';
    readonly bootstrap: BootstrapModel;
    /** The decoded bootstrap and `--stats-tag`s: the workers' stats_matcher. */
    readonly statsConfig: { readonly bootstrapProto: Record<string, unknown>; readonly cliTags: readonly Tag[] };
    readonly healthCheckFailed: boolean;
  }
  /** The full configuration to serve (clusters first, then listeners), as the primary applied it. */
  | { readonly t: 'snapshot'; readonly seq: number; readonly snapshot: EncodedSnapshot }
  /** Active health-check results of hosts (the primary runs the checkers). */
  | { readonly t: 'health'; readonly updates: readonly HostHealthUpdate[] }
  | { readonly t: 'stats'; readonly id: number }
  | { readonly t: 'reset_counters' }
  /** /drain_listeners: the listeners named stop accepting and drain their connections. */
  | { readonly t: 'drain'; readonly listeners: readonly string[] }
  /** SIGTERM, /quitquitquit: drain everything and exit when done (or at the drain deadline). */
  | { readonly t: 'shutdown' }
  | { readonly t: 'healthcheck'; readonly failed: boolean }
  | { readonly t: 'reopen_logs' };

/** Worker → primary. */
export type FromWorker =
  /**
   * The worker listens for messages now. Nothing is sent before: messages that arrive before
   * the worker's code runs are dropped (e.g. while a NODE_OPTIONS `--import` hook loads).
   */
  | { readonly t: 'hello' }
  /** A snapshot is serving (`boundAddresses`: listener name → the address it bound; `errors`: listeners that could not bind). */
  | { readonly t: 'applied'; readonly seq: number; readonly boundAddresses: Readonly<Record<string, string>>; readonly errors: readonly string[] }
  | { readonly t: 'stats'; readonly id: number; readonly stats: WorkerStats }
  /** A host answered with x-envoy-immediate-health-check-fail: the primary's checker marks it. */
  | { readonly t: 'immediate_hc_fail'; readonly cluster: string; readonly clusterHash: string; readonly host: string };

/** One host's health as the primary's checker left it. */
export interface HostHealthUpdate {
  readonly cluster: string;
  /** The cluster config the checker belongs to: a rebuilt cluster starts its hosts over. */
  readonly clusterHash: string;
  readonly host: string;
  /** The active-health-check flag bits (see ACTIVE_HC_FLAGS). */
  readonly flags: number;
}

/** A worker's numbers at one moment. */
export interface WorkerStats {
  readonly index: number;
  readonly counters: ReadonlyArray<readonly [string, number, boolean]>;
  readonly gauges: ReadonlyArray<readonly [string, number, boolean]>;
  readonly histograms: ReadonlyArray<readonly [string, HistogramBins]>;
  /** Per-host counters for /clusters: [cluster, host key, stats]. */
  readonly hosts: ReadonlyArray<readonly [string, string, Readonly<Record<string, number>>]>;
  readonly activeConnections: number;
  /** process.memoryUsage() of the worker (`server.memory_*` cover the whole process tree, as Envoy's cover its process). */
  readonly memory: { readonly heapUsed: number; readonly heapTotal: number; readonly rss: number };
}
