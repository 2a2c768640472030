/**
 * The server-wide state Envoy's filters read through their factory context
 * (`context.healthCheckFailed()`, `context.localInfo().clusterName()`): one per process, as in
 * Envoy. Set by the admin API (`POST /healthcheck/fail|ok`) and at startup; read by the
 * `envoy.filters.http.health_check` filter and `/ready`.
 */
export const serverHealth = {
  /** True after `POST /healthcheck/fail`, until `POST /healthcheck/ok`. */
  healthCheckFailed: false,
  /** The local service cluster (`node.cluster` / `--service-cluster`), for `x-envoy-upstream-healthchecked-cluster`. */
  localClusterName: '',
};
