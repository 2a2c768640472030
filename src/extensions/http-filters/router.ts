import type { HttpFilterFactory } from '../registry';

/** envoy.filters.http.router: the terminal filter that forwards to a cluster. */
export const routerFilter: HttpFilterFactory = {
  decode(config, path, ctx) {
    if (config.upstream_http_filters?.length) ctx.error(`${path}.upstream_http_filters`, 'upstream HTTP filters are not supported');
    if (config.dynamic_stats === false) ctx.warn(`${path}.dynamic_stats`, 'dynamic_stats has no effect in Legate');
    return { kind: 'router', suppressEnvoyHeaders: config.suppress_envoy_headers === true };
  },
};
