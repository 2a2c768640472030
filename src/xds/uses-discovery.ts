/**
 * Whether a bootstrap needs the xDS machinery at all: its own module, so that a server with a
 * purely static bootstrap can decide without loading the xDS manager and transport.
 */
import type { BootstrapModel } from '../snapshot/model';
import { listenerChains } from '../snapshot/model';

/**
 * True when static resources need discovery even without dynamic_resources: a static listener
 * whose routes come from RDS, or a static EDS cluster (from ADS or a file).
 */
export function staticResourcesUseDiscovery(bootstrap: BootstrapModel): boolean {
  return bootstrap.listeners.some((l) => listenerChains(l).some((fc) => fc.hcm?.routeSource.kind === 'rds'))
    || bootstrap.clusters.some((c) => c.type === 'EDS');
}
