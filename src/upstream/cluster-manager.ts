import type { ClusterModel } from '../snapshot/model';
import { Cluster } from './cluster';

/**
 * Owns every cluster by name. Reconciling a new set of cluster models keeps the
 * Cluster objects (and their hosts and connections) whose config hash did not change.
 */
export class ClusterManager {
  private clusters = new Map<string, Cluster>();

  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  all(): Cluster[] {
    return [...this.clusters.values()];
  }

  /** Diff and retain: unchanged clusters are kept, changed ones rebuilt, removed ones drained. */
  reconcile(models: readonly ClusterModel[]): void {
    const next = new Map<string, Cluster>();
    for (const m of models) {
      const prev = this.clusters.get(m.name);
      if (prev && prev.model.hash === m.hash) {
        // Same cluster config: keep it (and its connections); only the endpoints may differ.
        if (prev.model.endpoints !== m.endpoints) prev.updateEndpoints(m);
        next.set(m.name, prev);
      } else {
        next.set(m.name, new Cluster(m));
      }
    }
    for (const [name, c] of this.clusters) if (next.get(name) !== c) c.stop();
    this.clusters = next;
  }

  /** Resolves when every cluster has its first host list. */
  async initialized(): Promise<void> {
    await Promise.all([...this.clusters.values()].map((c) => c.initialized));
  }

  destroy(): void {
    for (const c of this.clusters.values()) c.destroy();
  }
}
