/**
 * Which process this is: a `--concurrency` worker, forked by the pool (src/workers/worker-pool.ts)
 * with its slot in the environment and an IPC channel to the primary, or the proxy itself. Read
 * from the environment rather than `cluster.isWorker`, so a single-process sidecar never loads
 * node:cluster (with child_process and dgram).
 */

/** Environment variable carrying a worker's slot (0..N-1, Envoy's worker index). */
export const WORKER_INDEX_ENV = 'LEGATE_WORKER_INDEX';

/** True in a worker process of the `--concurrency` pool. */
export function isPoolWorker(): boolean {
  return process.env[WORKER_INDEX_ENV] !== undefined && process.send !== undefined;
}
