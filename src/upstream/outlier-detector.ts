/**
 * Passive outlier detection, as Envoy's DetectorImpl (source/common/upstream/outlier_detection_impl.cc):
 *
 * - Each host has a monitor fed by the router with every response code (gRPC: the grpc-status of
 *   a trailers-only response mapped to HTTP, as Envoy's router does) and every local-origin event
 *   (connect failure, reset, timeout).
 * - Consecutive 5xx / gateway failures (502, 503, 504) / local-origin failures reaching their
 *   threshold eject the host at once, if the ejection keeps the ejected share within
 *   max_ejection_percent (or always_eject_one_host allows the first) and the `enforcing_*`
 *   percentage lets it through. An ejected host is flagged /failed_outlier_check and the cluster
 *   builds a new picker without it.
 * - Every `interval`: hosts whose ejection time (base_ejection_time × back-off, capped by
 *   max_ejection_time, plus jitter) has passed come back; success-rate and failure-percentage
 *   ejections are computed over the last interval's counts; the back-off of hosts that stayed in
 *   rotation for an interval decreases.
 *
 * Without split_external_local_origin_errors, local-origin events are charged as HTTP codes
 * (connect failure and reset → 503, timeout → 504); with it they have their own counter and
 * success rate.
 */
import type { OutlierDetectionModel } from '../snapshot/model';
import { HealthFlag } from '../health/health-flags';

/** A host as the detector sees it (upstream's Host). */
export interface OutlierHost {
  healthFlagGet(flag: number): boolean;
  healthFlagSet(flag: number): void;
  healthFlagClear(flag: number): void;
  /** The monitor the router charges (set by the detector). */
  outlier: HostMonitor | undefined;
}

/** Envoy's Outlier::Result for local-origin events. */
export type LocalOriginResult = 'connect_failed' | 'timeout' | 'connect_success' | 'connect_success_final';

export type EjectionType =
  | 'consecutive_5xx'
  | 'consecutive_gateway_failure'
  | 'consecutive_local_origin_failure'
  | 'success_rate'
  | 'local_origin_success_rate'
  | 'failure_percentage'
  | 'local_origin_failure_percentage';

/** `cluster.<name>.outlier_detection.*` (Envoy's ALL_OUTLIER_DETECTION_STATS). */
export interface OutlierStats {
  ejections_active: number;
  ejections_overflow: number;
  ejections_enforced_total: number;
  ejections_enforced_consecutive_5xx: number;
  ejections_enforced_consecutive_gateway_failure: number;
  ejections_enforced_consecutive_local_origin_failure: number;
  ejections_enforced_success_rate: number;
  ejections_enforced_local_origin_success_rate: number;
  ejections_enforced_failure_percentage: number;
  ejections_enforced_local_origin_failure_percentage: number;
  ejections_detected_consecutive_5xx: number;
  ejections_detected_consecutive_gateway_failure: number;
  ejections_detected_consecutive_local_origin_failure: number;
  ejections_detected_success_rate: number;
  ejections_detected_local_origin_success_rate: number;
  ejections_detected_failure_percentage: number;
  ejections_detected_local_origin_failure_percentage: number;
  /** Deprecated in Envoy, still published. */
  ejections_total: number;
  ejections_consecutive_5xx: number;
  ejections_success_rate: number;
}

function newStats(): OutlierStats {
  return {
    ejections_active: 0, ejections_overflow: 0, ejections_enforced_total: 0,
    ejections_enforced_consecutive_5xx: 0, ejections_enforced_consecutive_gateway_failure: 0,
    ejections_enforced_consecutive_local_origin_failure: 0, ejections_enforced_success_rate: 0,
    ejections_enforced_local_origin_success_rate: 0, ejections_enforced_failure_percentage: 0,
    ejections_enforced_local_origin_failure_percentage: 0, ejections_detected_consecutive_5xx: 0,
    ejections_detected_consecutive_gateway_failure: 0, ejections_detected_consecutive_local_origin_failure: 0,
    ejections_detected_success_rate: 0, ejections_detected_local_origin_success_rate: 0,
    ejections_detected_failure_percentage: 0, ejections_detected_local_origin_failure_percentage: 0,
    ejections_total: 0, ejections_consecutive_5xx: 0, ejections_success_rate: 0,
  };
}

/** Success/total counts of the current and the last finished interval (Envoy's two buckets). */
class SuccessRateMonitor {
  private curTotal = 0;
  private curSuccess = 0;
  private lastTotal = 0;
  private lastSuccess = 0;
  /** Last computed success rate for /clusters; -1 when none. */
  rate = -1;

  put(success: boolean): void {
    this.curTotal++;
    if (success) this.curSuccess++;
  }

  rollOver(): void {
    this.lastTotal = this.curTotal;
    this.lastSuccess = this.curSuccess;
    this.curTotal = 0;
    this.curSuccess = 0;
  }

  /** [success %, volume] of the last interval, or undefined when it saw no request. */
  lastRateAndVolume(): [number, number] | undefined {
    return this.lastTotal === 0 ? undefined : [(this.lastSuccess * 100) / this.lastTotal, this.lastTotal];
  }
}

/** Per-host state: consecutive counters, ejection times and back-off. */
export class HostMonitor {
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  consecutiveLocalOriginFailure = 0;
  numEjections = 0;
  /** Multiplier of base_ejection_time for the current ejection (Envoy's ejectTimeBackoff). */
  backoff = 0;
  lastEjectionMs: number | undefined;
  lastUnejectionMs: number | undefined;
  jitterMs = 0;
  readonly external = new SuccessRateMonitor();
  readonly localOrigin = new SuccessRateMonitor();

  constructor(private readonly detector: OutlierDetector, readonly host: OutlierHost) {}

  /** A response code from the host (gRPC statuses already mapped to HTTP). */
  putHttpResponseCode(code: number): void {
    this.detector.putHttpResponseCode(this, code);
  }

  /** A local-origin event (connect failure, reset, timeout, connect success). */
  putResult(result: LocalOriginResult): void {
    this.detector.putLocalOrigin(this, result);
  }
}

export interface OutlierDetectorOptions {
  /** A host was ejected or brought back: the cluster rebuilds its picker. */
  readonly onChange: () => void;
  readonly now?: () => number;
  readonly random?: () => number;
}

export class OutlierDetector {
  readonly stats: OutlierStats = newStats();
  private readonly monitors = new Set<HostMonitor>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  /** Success-rate average and ejection threshold of the last interval (-1: not computed). */
  successRateAverage = -1;
  successRateEjectionThreshold = -1;

  constructor(readonly config: OutlierDetectionModel, private readonly options: OutlierDetectorOptions) {
    this.now = options.now ?? (() => performance.now());
    this.random = options.random ?? Math.random;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.onInterval(), this.config.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  addHosts(hosts: readonly OutlierHost[]): void {
    for (const h of hosts) {
      const m = new HostMonitor(this, h);
      h.outlier = m;
      this.monitors.add(m);
    }
  }

  removeHosts(hosts: readonly OutlierHost[]): void {
    for (const h of hosts) {
      const m = h.outlier;
      if (!m || !this.monitors.delete(m)) continue;
      if (h.healthFlagGet(HealthFlag.FAILED_OUTLIER_CHECK)) this.stats.ejections_active--;
    }
  }

  /** An active health check passed for a host: with successful_active_health_check_uneject_host it comes back at once. */
  onHealthCheckSuccess(host: OutlierHost): void {
    const m = host.outlier;
    if (!this.config.successfulActiveHealthCheckUnejectHost || !m || !this.monitors.has(m)) return;
    if (host.healthFlagGet(HealthFlag.FAILED_OUTLIER_CHECK) && !host.healthFlagGet(HealthFlag.FAILED_ACTIVE_HC)) this.uneject(m);
  }

  // === Results ===

  putHttpResponseCode(m: HostMonitor, code: number): void {
    m.external.put(code < 500 || code >= 600);
    if (code >= 500 && code < 600) {
      const c = this.config;
      if (code >= 502 && code <= 504) {
        if (++m.consecutiveGatewayFailure === c.consecutiveGatewayFailure) this.onConsecutiveError(m, 'consecutive_gateway_failure');
      } else {
        m.consecutiveGatewayFailure = 0;
      }
      if (++m.consecutive5xx === c.consecutive5xx) this.onConsecutiveError(m, 'consecutive_5xx');
    } else {
      m.consecutive5xx = 0;
      m.consecutiveGatewayFailure = 0;
    }
  }

  putLocalOrigin(m: HostMonitor, result: LocalOriginResult): void {
    if (!this.config.splitExternalLocalOriginErrors) {
      // Envoy's resultToHttpCode; a plain connect success says nothing about the request.
      if (result === 'connect_failed') this.putHttpResponseCode(m, 503);
      else if (result === 'timeout') this.putHttpResponseCode(m, 504);
      else if (result === 'connect_success_final') this.putHttpResponseCode(m, 200);
      return;
    }
    if (result === 'connect_failed' || result === 'timeout') {
      m.localOrigin.put(false);
      if (++m.consecutiveLocalOriginFailure === this.config.consecutiveLocalOriginFailure) this.onConsecutiveError(m, 'consecutive_local_origin_failure');
    } else {
      m.localOrigin.put(true);
      m.consecutiveLocalOriginFailure = 0;
    }
  }

  // === Ejection ===

  private onConsecutiveError(m: HostMonitor, type: EjectionType): void {
    if (!this.monitors.has(m) || m.host.healthFlagGet(HealthFlag.FAILED_OUTLIER_CHECK)) return;
    this.stats[`ejections_detected_${type}`]++;
    this.eject(m, type);
    // Reset so a new bout of errors is detected even without an interleaved success.
    if (type === 'consecutive_5xx') {
      this.stats.ejections_consecutive_5xx++;
      m.consecutive5xx = 0;
    } else if (type === 'consecutive_gateway_failure') {
      m.consecutiveGatewayFailure = 0;
    } else {
      m.consecutiveLocalOriginFailure = 0;
    }
  }

  private enforcing(type: EjectionType): number {
    const c = this.config;
    switch (type) {
      case 'consecutive_5xx': return c.enforcingConsecutive5xx;
      case 'consecutive_gateway_failure': return c.enforcingConsecutiveGatewayFailure;
      case 'consecutive_local_origin_failure': return c.enforcingConsecutiveLocalOriginFailure;
      case 'success_rate': return c.enforcingSuccessRate;
      case 'local_origin_success_rate': return c.enforcingLocalOriginSuccessRate;
      case 'failure_percentage': return c.enforcingFailurePercentage;
      case 'local_origin_failure_percentage': return c.enforcingFailurePercentageLocalOrigin;
    }
  }

  private eject(m: HostMonitor, type: EjectionType): void {
    const c = this.config;
    const s = this.stats;
    // The share of hosts ejected if this one goes too, over every host of the cluster.
    const ejectedPercent = (100 * (s.ejections_active + 1)) / this.monitors.size;
    const allowed = ejectedPercent <= c.maxEjectionPercent || (c.alwaysEjectOneHost && s.ejections_active === 0);
    if (!allowed) {
      s.ejections_overflow++;
      return;
    }
    if (type === 'consecutive_5xx' || type === 'success_rate') s.ejections_total++;
    // featureEnabled(percent): enforced when random % 100 < percent.
    if (Math.floor(this.random() * 100) >= this.enforcing(type)) return;
    s.ejections_active++;
    s.ejections_enforced_total++;
    s[`ejections_enforced_${type}`]++;
    m.host.healthFlagSet(HealthFlag.FAILED_OUTLIER_CHECK);
    m.numEjections++;
    m.lastEjectionMs = this.now();
    m.jitterMs = Math.floor(this.random() * (c.maxEjectionTimeJitterMs + 1));
    if (m.backoff * c.baseEjectionTimeMs < c.maxEjectionTimeMs + c.baseEjectionTimeMs) m.backoff++;
    this.options.onChange();
  }

  private uneject(m: HostMonitor): void {
    this.stats.ejections_active--;
    m.host.healthFlagClear(HealthFlag.FAILED_OUTLIER_CHECK);
    m.consecutive5xx = 0;
    m.consecutiveGatewayFailure = 0;
    m.consecutiveLocalOriginFailure = 0;
    m.lastUnejectionMs = this.now();
    this.options.onChange();
  }

  // === Interval ===

  /** One interval tick (public for tests that drive time themselves). */
  onInterval(): void {
    const c = this.config;
    const now = this.now();
    for (const m of this.monitors) {
      if (m.host.healthFlagGet(HealthFlag.FAILED_OUTLIER_CHECK) && m.lastEjectionMs !== undefined) {
        const ejectFor = Math.min(c.baseEjectionTimeMs * m.backoff, c.maxEjectionTimeMs) + m.jitterMs;
        if (ejectFor <= now - m.lastEjectionMs) this.uneject(m);
      }
      m.external.rollOver();
      m.localOrigin.rollOver();
      m.external.rate = -1;
      m.localOrigin.rate = -1;
    }
    this.processSuccessRate('external');
    if (c.splitExternalLocalOriginErrors) this.processSuccessRate('local');
    for (const m of this.monitors) {
      if (m.host.healthFlagGet(HealthFlag.FAILED_OUTLIER_CHECK)) continue;
      if (m.lastUnejectionMs !== undefined && now - m.lastUnejectionMs >= c.intervalMs && m.backoff > 0) m.backoff--;
    }
  }

  /** Success-rate (mean − factor × stdev) and failure-percentage ejections over the last interval. */
  private processSuccessRate(origin: 'external' | 'local'): void {
    const c = this.config;
    if (origin === 'external') {
      this.successRateAverage = -1;
      this.successRateEjectionThreshold = -1;
    }
    if (this.monitors.size < c.successRateMinimumHosts && this.monitors.size < c.failurePercentageMinimumHosts) return;
    const srHosts: Array<[HostMonitor, number]> = [];
    const fpHosts: Array<[HostMonitor, number]> = [];
    let sum = 0;
    for (const m of this.monitors) {
      if (m.host.healthFlagGet(HealthFlag.FAILED_OUTLIER_CHECK)) continue;
      const mon = origin === 'external' ? m.external : m.localOrigin;
      const rv = mon.lastRateAndVolume();
      if (!rv) continue;
      const [rate, volume] = rv;
      if (volume >= Math.min(c.successRateRequestVolume, c.failurePercentageRequestVolume)) mon.rate = rate;
      if (volume >= c.successRateRequestVolume) {
        srHosts.push([m, rate]);
        sum += rate;
      }
      if (volume >= c.failurePercentageRequestVolume) fpHosts.push([m, rate]);
    }
    if (srHosts.length > 0 && srHosts.length >= c.successRateMinimumHosts) {
      const mean = sum / srHosts.length;
      let variance = 0;
      for (const [, r] of srHosts) variance += (r - mean) ** 2;
      variance /= srHosts.length;
      const threshold = mean - c.successRateStdevFactor * Math.sqrt(variance);
      if (origin === 'external') {
        this.successRateAverage = mean;
        this.successRateEjectionThreshold = threshold;
      }
      const type: EjectionType = origin === 'external' ? 'success_rate' : 'local_origin_success_rate';
      for (const [m, r] of srHosts) {
        if (r >= threshold || m.host.healthFlagGet(HealthFlag.FAILED_OUTLIER_CHECK)) continue;
        this.stats.ejections_success_rate++;
        this.stats[`ejections_detected_${type}`]++;
        this.eject(m, type);
      }
    }
    if (fpHosts.length > 0 && fpHosts.length >= c.failurePercentageMinimumHosts) {
      const type: EjectionType = origin === 'external' ? 'failure_percentage' : 'local_origin_failure_percentage';
      for (const [m, r] of fpHosts) {
        if (100 - r < c.failurePercentageThreshold || m.host.healthFlagGet(HealthFlag.FAILED_OUTLIER_CHECK)) continue;
        this.stats[`ejections_detected_${type}`]++;
        this.eject(m, type);
      }
    }
  }
}

/**
 * grpc-status → HTTP status for outlier detection (Envoy's Grpc::Utility::grpcToHttpStatus),
 * used for trailers-only responses as Envoy's router does.
 */
export function grpcToHttpStatus(status: number): number {
  switch (status) {
    case 0: return 200;
    case 1: return 499;
    case 2: return 500;
    case 3: return 400;
    case 4: return 504;
    case 5: return 404;
    case 6: return 409;
    case 7: return 403;
    case 8: return 429;
    case 9: return 400;
    case 10: return 409;
    case 11: return 400;
    case 12: return 501;
    case 13: return 500;
    case 14: return 503;
    case 15: return 500;
    case 16: return 401;
    default: return 500;
  }
}
