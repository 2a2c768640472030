/**
 * `/clusters` in the `--concurrency` primary: the primary's clusters (their hosts and health
 * flags are the primary's: it runs the health checks) with each host's traffic counters
 * (`cx_total`, `rq_total`, `rq_active`...) summed over the workers, who carry the traffic.
 */
import { formatAddress } from '../snapshot/model';
import type { WorkerStats } from './messages';

/** `cluster::host::stat` → the workers' sum. */
function hostSums(workers: readonly WorkerStats[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const w of workers) {
    for (const [cluster, host, stats] of w.hosts) {
      for (const [k, v] of Object.entries(stats)) {
        const key = `${cluster}::${host}::${k}`;
        sums.set(key, (sums.get(key) ?? 0) + v);
      }
    }
  }
  return sums;
}

/** Adds the workers' host counters to the primary's `/clusters` text. */
export function mergeClustersText(text: string, workers: readonly WorkerStats[]): string {
  const sums = hostSums(workers);
  if (sums.size === 0) return text;
  return text.split('\n').map((line) => {
    const cut = line.lastIndexOf('::');
    if (cut < 0) return line;
    const add = sums.get(line.slice(0, cut));
    if (add === undefined) return line;
    const own = Number(line.slice(cut + 2));
    return Number.isNaN(own) ? line : `${line.slice(0, cut)}::${own + add}`;
  }).join('\n');
}

interface HostStatusJson {
  address?: { socket_address?: { address: string; port_value: number }; pipe?: { path: string } };
  stats?: Array<{ name: string; value?: string; type?: string }>;
}

/** Adds the workers' host counters to the primary's `/clusters?format=json`. */
export function mergeClustersJson(json: string, workers: readonly WorkerStats[]): string {
  const sums = hostSums(workers);
  if (sums.size === 0) return json;
  const doc = JSON.parse(json) as { cluster_statuses: Array<{ name: string; host_statuses: HostStatusJson[] }> };
  for (const c of doc.cluster_statuses) {
    for (const h of c.host_statuses) {
      const a = h.address;
      const key = a?.socket_address ? formatAddress({ kind: 'tcp', host: a.socket_address.address, port: a.socket_address.port_value }) : a?.pipe?.path ?? '';
      for (const s of h.stats ?? []) {
        const add = sums.get(`${c.name}::${key}::${s.name}`);
        if (!add) continue;
        // proto JSON: uint64 as a string, omitted when 0.
        s.value = String(Number(s.value ?? 0) + add);
      }
    }
  }
  return JSON.stringify(doc, null, 2) + '\n';
}
