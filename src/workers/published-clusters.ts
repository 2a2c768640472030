/**
 * The primary's cluster manager: a real one (it runs the health checkers and DNS, and answers
 * /clusters), which also remembers the cluster models it was last given, so that the snapshot
 * sent to the workers has exactly the clusters the primary reconciled, in the same step.
 */
import type { TimeSlicer } from '../common/time-slices';
import type { ClusterModel } from '../snapshot/model';
import { ClusterManager, type ReconcileOptions } from '../upstream/cluster-manager';

export class PublishedClusterManager extends ClusterManager {
  /** The models of the latest reconcile, and whether new health-checked clusters warm. */
  latest: { readonly models: readonly ClusterModel[]; readonly warmHealthChecked: boolean } = { models: [], warmHealthChecked: false };

  override reconcile(models: readonly ClusterModel[]): void {
    this.latest = { models, warmHealthChecked: false };
    super.reconcile(models);
  }

  override reconcileInSlices(models: readonly ClusterModel[], slicer?: TimeSlicer, options: ReconcileOptions = {}): Promise<void> {
    this.latest = { models, warmHealthChecked: options.warmHealthChecked === true };
    return super.reconcileInSlices(models, slicer, options);
  }
}
