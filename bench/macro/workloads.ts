/**
 * The workloads of the side-by-side benchmark (issue #8): what each sends, how
 * h2load and our generator load it, and the fixed rate its latency is taken at.
 */

export interface Workload {
  readonly id: string;
  readonly title: string;
  /** Bytes of the helloworld.HelloRequest name (the message is 2–4 bytes more). */
  readonly nameBytes: number;
  /** Response messages per call (1 = unary; >1 = server streaming via `bench-stream-messages`). */
  readonly responseMessages: number;
  /** h2load `-c` and `-m` for the closed loop. */
  readonly h2loadClients: number;
  readonly h2loadStreams: number;
  /** Our generator's connections and callers in flight for the closed loop. */
  readonly connections: number;
  readonly concurrency: number;
  /** Open-loop rate (calls/s) for the latency percentiles, and its connections. */
  readonly openRate: number;
  readonly openConnections: number;
}

export const WORKLOADS: readonly Workload[] = [
  {
    id: 'unary-small', title: 'small unary (12-byte name)', nameBytes: 12, responseMessages: 1,
    h2loadClients: 10, h2loadStreams: 10, connections: 10, concurrency: 100, openRate: 1000, openConnections: 4,
  },
  {
    id: 'unary-1k', title: 'unary, 1 KiB payload', nameBytes: 1024, responseMessages: 1,
    h2loadClients: 10, h2loadStreams: 10, connections: 10, concurrency: 100, openRate: 1000, openConnections: 4,
  },
  {
    id: 'unary-64k', title: 'unary, 64 KiB payload', nameBytes: 65536, responseMessages: 1,
    h2loadClients: 10, h2loadStreams: 10, connections: 10, concurrency: 100, openRate: 1000, openConnections: 4,
  },
  {
    // 1,000 calls/s × 100 messages would be 100,000 messages/s: more than this
    // machine's backend alone sustains, so the latency rate is 100 calls/s.
    id: 'stream-100', title: 'server streaming, 100 messages per call', nameBytes: 12, responseMessages: 100,
    h2loadClients: 10, h2loadStreams: 10, connections: 10, concurrency: 100, openRate: 100, openConnections: 4,
  },
  {
    id: 'streams-1000', title: '1,000 concurrent streams on 10 connections (small unary)', nameBytes: 12, responseMessages: 1,
    h2loadClients: 10, h2loadStreams: 100, connections: 10, concurrency: 1000, openRate: 1000, openConnections: 10,
  },
];

/** Workloads by id, in table order; throws naming an unknown id. */
export function selectWorkloads(ids: readonly string[] | undefined): Workload[] {
  if (ids === undefined || ids.length === 0) return [...WORKLOADS];
  const wanted = new Set(ids);
  for (const id of wanted) {
    if (!WORKLOADS.some((w) => w.id === id)) throw new Error(`unknown workload "${id}" (known: ${WORKLOADS.map((w) => w.id).join(', ')})`);
  }
  return WORKLOADS.filter((w) => wanted.has(w.id));
}
