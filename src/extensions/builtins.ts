/**
 * Every built-in extension, in one place. New extensions add one line here.
 */
import { fileAccessLogger, stderrAccessLogger, stdoutAccessLogger } from './access-loggers/stream-and-file';
import { routerFilter } from './http-filters/router';
import { faultFilter, noopFilter } from './http-filters/accepted-noops';
import { istioStatsFilter, wasmFilter } from './http-filters/istio-stats';
import { healthCheckFilter } from './http-filters/health-check';
import { accessLoggers, httpFilters } from './registry';

let installed = false;

export function installBuiltins(): void {
  if (installed) return;
  installed = true;

  httpFilters.register('envoy.extensions.filters.http.router.v3.Router', routerFilter);

  for (const t of [
    'envoy.extensions.filters.http.compressor.v3.Compressor',
    'envoy.extensions.filters.http.grpc_stats.v3.FilterConfig',
    'envoy.extensions.filters.http.cors.v3.Cors',
    'istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig',
    'io.istio.http.peer_metadata.Config',
  ]) {
    httpFilters.register(t, noopFilter(t));
  }
  httpFilters.register('envoy.extensions.filters.http.fault.v3.HTTPFault', faultFilter);
  httpFilters.register('stats.PluginConfig', istioStatsFilter);
  // Wasm is refused except Istio's null-VM telemetry modules (envoy.wasm.stats, envoy.wasm.metadata_exchange).
  httpFilters.register('envoy.extensions.filters.http.wasm.v3.Wasm', wasmFilter);
  httpFilters.register('envoy.extensions.filters.http.health_check.v3.HealthCheck', healthCheckFilter);

  // Security filters are refused by name: running without them would let traffic in.
  const security = 'is a security filter that Legate does not implement yet; refusing the config rather than letting traffic through unchecked';
  for (const t of [
    'envoy.extensions.filters.http.rbac.v3.RBAC',
    'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
    'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
    'envoy.extensions.filters.http.oauth2.v3.OAuth2',
    'envoy.extensions.filters.http.basic_auth.v3.BasicAuth',
    'envoy.extensions.filters.http.csrf.v3.CsrfPolicy',
  ]) {
    httpFilters.reject(t, security);
  }

  accessLoggers.register('envoy.extensions.access_loggers.file.v3.FileAccessLog', fileAccessLogger);
  accessLoggers.register('envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', stdoutAccessLogger);
  accessLoggers.register('envoy.extensions.access_loggers.stream.v3.StderrAccessLog', stderrAccessLogger);
}
