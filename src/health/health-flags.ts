/**
 * Host health flags, as Envoy's `Host::HealthFlag` (envoy/upstream/host_description.h), in its
 * enum order, which is also the order `/clusters` prints them in
 * (`HostUtility::healthFlagsToString`, source/common/upstream/host_utility.cc).
 */
export const HealthFlag = {
  FAILED_ACTIVE_HC: 0x001,
  FAILED_OUTLIER_CHECK: 0x002,
  FAILED_EDS_HEALTH: 0x004,
  DEGRADED_ACTIVE_HC: 0x008,
  DEGRADED_EDS_HEALTH: 0x010,
  PENDING_DYNAMIC_REMOVAL: 0x020,
  PENDING_ACTIVE_HC: 0x040,
  EXCLUDED_VIA_IMMEDIATE_HC_FAIL: 0x080,
  ACTIVE_HC_TIMEOUT: 0x100,
  EDS_STATUS_DRAINING: 0x200,
} as const;

export type HealthFlagBit = (typeof HealthFlag)[keyof typeof HealthFlag];

const NAMES: ReadonlyArray<readonly [number, string]> = [
  [HealthFlag.FAILED_ACTIVE_HC, '/failed_active_hc'],
  [HealthFlag.FAILED_OUTLIER_CHECK, '/failed_outlier_check'],
  [HealthFlag.FAILED_EDS_HEALTH, '/failed_eds_health'],
  [HealthFlag.DEGRADED_ACTIVE_HC, '/degraded_active_hc'],
  [HealthFlag.DEGRADED_EDS_HEALTH, '/degraded_eds_health'],
  [HealthFlag.PENDING_DYNAMIC_REMOVAL, '/pending_dynamic_removal'],
  [HealthFlag.PENDING_ACTIVE_HC, '/pending_active_hc'],
  [HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL, '/excluded_via_immediate_hc_fail'],
  [HealthFlag.ACTIVE_HC_TIMEOUT, '/active_hc_timeout'],
  [HealthFlag.EDS_STATUS_DRAINING, '/eds_status_draining'],
];

/** Flags that make a host unhealthy (`HostImplBase::coarseHealth`). */
const UNHEALTHY = HealthFlag.FAILED_ACTIVE_HC | HealthFlag.FAILED_OUTLIER_CHECK | HealthFlag.FAILED_EDS_HEALTH | HealthFlag.EDS_STATUS_DRAINING;
const DEGRADED = HealthFlag.DEGRADED_ACTIVE_HC | HealthFlag.DEGRADED_EDS_HEALTH;
/** Flags that exclude a host from load balancing and from the panic denominator (excluded.rst). */
const EXCLUDED = HealthFlag.PENDING_ACTIVE_HC | HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL | HealthFlag.EDS_STATUS_DRAINING;

/** `/failed_active_hc/active_hc_timeout`, or `healthy` when no flag is set. */
export function formatHealthFlags(flags: number): string {
  let s = '';
  for (const [bit, name] of NAMES) if (flags & bit) s += name;
  return s || 'healthy';
}

export type CoarseHealth = 'healthy' | 'degraded' | 'unhealthy';

/** Envoy's `coarseHealth()`: any FAILED flag → unhealthy; else any DEGRADED flag → degraded. */
export function coarseHealth(flags: number): CoarseHealth {
  if (flags & UNHEALTHY) return 'unhealthy';
  if (flags & DEGRADED) return 'degraded';
  return 'healthy';
}

/** True for hosts Envoy puts in `excludedHosts()`. */
export function isExcluded(flags: number): boolean {
  return (flags & EXCLUDED) !== 0;
}

/** EDS `health_status` → flags (`HostImplBase::setEdsHealthFlag`, with exclude_host_in_eds_status_draining on). */
export function edsHealthFlags(status: string): number {
  switch (status) {
    case 'UNHEALTHY':
    case 'TIMEOUT':
      return HealthFlag.FAILED_EDS_HEALTH;
    case 'DRAINING':
      return HealthFlag.EDS_STATUS_DRAINING;
    case 'DEGRADED':
      return HealthFlag.DEGRADED_EDS_HEALTH;
    default:
      return 0;
  }
}
