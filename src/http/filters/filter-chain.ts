import type { HttpFilterModel } from '../../extensions/registry';
import { HealthCheckFilter, type ClusterLookup } from './health-check-filter';
import { EMPTY_FILTER_CHAIN, type HttpFilter, type HttpFilterChain } from './http-filter';

/** What filters may use when they are built (Envoy's factory context, the parts Legate has). */
export interface FilterFactoryContext {
  readonly clusters: ClusterLookup;
}

/**
 * Builds one HCM's filters from its models, once. The router and the accepted no-op filters
 * contribute nothing here (the router is the stream itself). A new filter adds one case.
 */
export function compileFilterChain(models: readonly HttpFilterModel[], ctx: FilterFactoryContext): HttpFilterChain {
  const filters: HttpFilter[] = [];
  for (const m of models) {
    switch (m.kind) {
      case 'health_check':
        filters.push(new HealthCheckFilter(m, ctx.clusters));
        break;
      case 'router':
      case 'noop':
        break;
    }
  }
  if (filters.length === 0) return EMPTY_FILTER_CHAIN;
  return {
    decoders: filters.filter((f) => f.decodeHeaders !== undefined),
    encoders: filters.filter((f) => f.encodeHeaders !== undefined).reverse(),
    destroy: () => { for (const f of filters) f.destroy?.(); },
  };
}
