import type { ClusterManager } from '../upstream/cluster-manager';
import type { Host } from '../upstream/host';
import { HealthFlag } from '../health/health-flags';
import type { CircuitBreakerThresholdsModel } from '../snapshot/model';

/**
 * Admin /clusters in Envoy's text shape (clusters_handler.cc), or its JSON form
 * (envoy.admin.v3.Clusters with proto-JSON rules: uint64 as strings, defaults omitted).
 */
export function clustersText(cm: ClusterManager, json: boolean): string {
  if (json) return JSON.stringify({ cluster_statuses: cm.all().map((c) => ({
    name: c.name,
    observability_name: c.model.observabilityName,
    added_via_api: false,
    circuit_breakers: { thresholds: [thresholdsJson(c.model.circuitBreakers, undefined), thresholdsJson(c.model.circuitBreakersHigh, 'HIGH')] },
    host_statuses: c.allHosts().map((h) => hostJson(h)),
  })) }, null, 2) + '\n';
  const lines: string[] = [];
  for (const c of cm.all()) {
    const n = c.name;
    lines.push(`${n}::observability_name::${c.model.observabilityName}`);
    const od = c.outlierDetector;
    if (od) {
      lines.push(`${n}::outlier::success_rate_average::${od.successRateAverage}`);
      lines.push(`${n}::outlier::success_rate_ejection_threshold::${od.successRateEjectionThreshold}`);
      lines.push(`${n}::outlier::local_origin_success_rate_average::-1`);
      lines.push(`${n}::outlier::local_origin_success_rate_ejection_threshold::-1`);
    }
    for (const prio of ['default_priority', 'high_priority']) {
      const cb = prio === 'default_priority' ? c.model.circuitBreakers : c.model.circuitBreakersHigh;
      lines.push(`${n}::${prio}::max_connections::${cb.maxConnections}`);
      lines.push(`${n}::${prio}::max_pending_requests::${cb.maxPendingRequests}`);
      lines.push(`${n}::${prio}::max_requests::${cb.maxRequests}`);
      lines.push(`${n}::${prio}::max_retries::${cb.maxRetries}`);
    }
    lines.push(`${n}::added_via_api::false`);
    for (const h of c.allHosts()) {
      const p = `${n}::${h.key}`;
      for (const [k, v] of Object.entries(h.stats).sort(([a], [b]) => a.localeCompare(b))) lines.push(`${p}::${k}::${v}`);
      lines.push(`${p}::hostname::${h.hostname}`);
      lines.push(`${p}::health_flags::${h.healthFlagsText}`);
      lines.push(`${p}::weight::${h.weight}`);
      lines.push(`${p}::region::${h.locality.region}`);
      lines.push(`${p}::zone::${h.locality.zone}`);
      lines.push(`${p}::sub_zone::${h.locality.subZone}`);
      lines.push(`${p}::canary::false`);
      lines.push(`${p}::priority::${h.priority}`);
      lines.push(`${p}::success_rate::${h.outlier?.external.rate ?? -1}`);
      lines.push(`${p}::local_origin_success_rate::${h.outlier?.localOrigin.rate ?? -1}`);
    }
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}

/** config.cluster.v3.CircuitBreakers.Thresholds as proto JSON (the DEFAULT priority is the enum's zero, so omitted). */
function thresholdsJson(t: CircuitBreakerThresholdsModel, priority: 'HIGH' | undefined): Record<string, unknown> {
  return {
    ...(priority ? { priority } : {}),
    max_connections: t.maxConnections,
    max_pending_requests: t.maxPendingRequests,
    max_requests: t.maxRequests,
    max_retries: t.maxRetries,
    ...(t.trackRemaining ? { track_remaining: true } : {}),
  };
}

function hostJson(h: Host): Record<string, unknown> {
  const addr = h.address.kind === 'tcp' ? { socket_address: { address: h.address.host, port_value: h.address.port } } : { pipe: { path: h.address.path } };
  return {
    address: addr,
    stats: Object.entries(h.stats).map(([name, value]) => {
      const gauge = name.endsWith('_active');
      const o: Record<string, unknown> = { name };
      if (value) o['value'] = String(value);
      if (gauge) o['type'] = 'GAUGE';
      return o;
    }),
    health_status: healthStatusJson(h),
    weight: h.weight,
    hostname: h.hostname || undefined,
    priority: h.priority || undefined,
    locality: { region: h.locality.region, zone: h.locality.zone, sub_zone: h.locality.subZone },
  };
}

/** envoy.admin.v3.HostHealthStatus as clusters_handler.cc fills it (proto JSON: false booleans omitted). */
function healthStatusJson(h: Host): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const has = (f: number): boolean => h.healthFlagGet(f);
  if (has(HealthFlag.FAILED_ACTIVE_HC)) o['failed_active_health_check'] = true;
  if (has(HealthFlag.FAILED_OUTLIER_CHECK)) o['failed_outlier_check'] = true;
  o['eds_health_status'] = has(HealthFlag.FAILED_EDS_HEALTH) ? 'UNHEALTHY'
    : has(HealthFlag.EDS_STATUS_DRAINING) ? 'DRAINING'
      : has(HealthFlag.DEGRADED_EDS_HEALTH) ? 'DEGRADED' : 'HEALTHY';
  if (has(HealthFlag.DEGRADED_ACTIVE_HC)) o['failed_active_degraded_check'] = true;
  if (has(HealthFlag.PENDING_DYNAMIC_REMOVAL)) o['pending_dynamic_removal'] = true;
  if (has(HealthFlag.PENDING_ACTIVE_HC)) o['pending_active_hc'] = true;
  if (has(HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL)) o['excluded_via_immediate_hc_fail'] = true;
  if (has(HealthFlag.ACTIVE_HC_TIMEOUT)) o['active_hc_timeout'] = true;
  return o;
}
