/**
 * The primary's side of health: after each active check, the host's flags go to every worker
 * when they changed (or it is the host's first result: a worker's cluster warms until then).
 * Results are batched per event-loop turn, so a burst of checks costs one message per worker.
 * A worker that starts late gets every current result after its first snapshot.
 */
import type { Cluster } from '../upstream/cluster';
import type { Host } from '../upstream/host';
import type { HostHealthUpdate } from './messages';
import { ACTIVE_HC_FLAGS } from './remote-health';

export class HealthBroadcast {
  /** cluster name → host key → the last result sent (with its cluster hash). */
  private readonly sent = new Map<string, Map<string, HostHealthUpdate>>();
  private pending: HostHealthUpdate[] = [];
  private scheduled = false;

  constructor(private readonly send: (updates: readonly HostHealthUpdate[]) => void) {}

  /** ClusterOptions.onHostChecked of the primary's clusters. */
  readonly onHostChecked = (cluster: Cluster, host: Host): void => {
    const u: HostHealthUpdate = { cluster: cluster.name, clusterHash: cluster.model.hash, host: host.key, flags: host.healthFlags & ACTIVE_HC_FLAGS };
    let byHost = this.sent.get(u.cluster);
    if (!byHost) this.sent.set(u.cluster, (byHost = new Map()));
    const prev = byHost.get(u.host);
    if (prev && prev.clusterHash === u.clusterHash && prev.flags === u.flags) return;
    byHost.set(u.host, u);
    this.pending.push(u);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.pending;
      this.pending = [];
      this.send(batch);
    });
  };

  /**
   * Forgets the results of clusters not in the snapshot being published (workers drop theirs when
   * they apply it), so a cluster removed and added again has its first results sent again.
   */
  retain(live: ReadonlyArray<{ readonly name: string; readonly hash: string }>): void {
    const hashes = new Map(live.map((c) => [c.name, c.hash]));
    for (const [name, byHost] of this.sent) {
      const hash = hashes.get(name);
      if (hash === undefined) this.sent.delete(name);
      else for (const [host, u] of byHost) if (u.clusterHash !== hash) byHost.delete(host);
    }
  }

  /**
   * Every current result (for a worker that just started), warming clusters included: what
   * {@link retain} kept is exactly the clusters of the latest snapshot.
   */
  current(): HostHealthUpdate[] {
    const out: HostHealthUpdate[] = [];
    for (const byHost of this.sent.values()) out.push(...byHost.values());
    return out;
  }

}
