/**
 * One host's active health-check session: the timers, the consecutive-result counters and
 * the flag transitions of Envoy's `HealthCheckerImplBase::ActiveHealthCheckSession`
 * (handleSuccess / setUnhealthy / handleFailure / clearPendingFlag / onIntervalBase /
 * onTimeoutBase / onInitialInterval), kept step for step so that the interval chosen after
 * each check and the moment a host flips are the same as Envoy's.
 */
import type { TimerHandle } from '../common/clock';
import { logger } from '../common/logger';
import { HealthFlag } from './health-flags';
import { initialDelay, nextInterval } from './interval';
import type { SessionParent } from './session-parent';
import type { CheckOutcome, FailureType, HealthCheckedHost, HealthTransition, Prober } from './types';

const log = logger('hc');

export class HealthCheckSession {
  private numHealthy = 0;
  private numUnhealthy = 0;
  private firstCheck = true;
  private intervalTimer: TimerHandle | undefined;
  private timeoutTimer: TimerHandle | undefined;
  /** Bumped per check, so a late answer to an abandoned check is ignored. */
  private generation = 0;
  private stopped = false;

  constructor(
    readonly host: HealthCheckedHost,
    private readonly parent: SessionParent,
    private readonly prober: Prober,
  ) {
    if (!host.healthFlagGet(HealthFlag.FAILED_ACTIVE_HC)) parent.stats.healthy++;
    if (host.healthFlagGet(HealthFlag.DEGRADED_ACTIVE_HC)) parent.stats.degraded++;
  }

  /** True until the first check has finished (Envoy's `first_check_`). */
  get awaitingFirstCheck(): boolean {
    return this.firstCheck;
  }

  /** `onInitialInterval`: check at once, or after `random() % initial_jitter`. */
  start(): void {
    const delay = initialDelay(this.parent.model, this.parent.random);
    if (delay === 0) this.onInterval();
    else this.arm(delay);
  }

  /** The host left the cluster (or the cluster went away): timers off, connection closed. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.parent.clock.clearTimeout(this.intervalTimer);
    this.parent.clock.clearTimeout(this.timeoutTimer);
    this.intervalTimer = this.timeoutTimer = undefined;
    this.generation++;
    this.prober.close();
    if (!this.host.healthFlagGet(HealthFlag.FAILED_ACTIVE_HC)) this.parent.stats.healthy--;
    if (this.host.healthFlagGet(HealthFlag.DEGRADED_ACTIVE_HC)) this.parent.stats.degraded--;
    // Whoever waits for this host's first check (cluster warming) must not wait forever.
    if (this.firstCheck) this.parent.onCheckComplete(this.host, 'Unchanged', this.host.healthFlagGet(HealthFlag.FAILED_ACTIVE_HC) ? 'Unhealthy' : 'Healthy');
  }

  // === Timers ===

  private arm(ms: number): void {
    this.parent.clock.clearTimeout(this.intervalTimer);
    this.intervalTimer = this.parent.clock.setTimeout(() => this.onInterval(), ms);
    this.intervalTimer.unref();
  }

  /** `onIntervalBase`: send a check, arm the timeout, count the attempt. */
  private onInterval(): void {
    if (this.stopped) return;
    this.intervalTimer = undefined;
    const gen = ++this.generation;
    this.timeoutTimer = this.parent.clock.setTimeout(() => this.onTimeout(gen), this.parent.model.timeoutMs);
    this.timeoutTimer.unref();
    this.parent.stats.attempt++;
    this.prober.check((outcome) => {
      if (gen === this.generation && !this.stopped) this.onResult(outcome);
    });
  }

  /** `onTimeoutBase`: abandon the check; a NETWORK_TIMEOUT failure. */
  private onTimeout(gen: number): void {
    if (gen !== this.generation || this.stopped) return;
    this.timeoutTimer = undefined;
    this.generation++;
    this.prober.abort();
    if (log.debugEnabled) log.debug(`cluster ${this.parent.clusterName}: health check of ${this.host.key} timed out after ${this.parent.model.timeoutMs} ms`);
    this.handleFailure('NETWORK_TIMEOUT', false, 'timeout');
  }

  private onResult(outcome: CheckOutcome): void {
    if (outcome.healthy) {
      this.handleSuccess(outcome.degraded);
    } else {
      if (log.debugEnabled) log.debug(`cluster ${this.parent.clusterName}: health check of ${this.host.key} failed (${outcome.type}): ${outcome.detail}`);
      this.handleFailure(outcome.type, outcome.retriable, outcome.detail);
    }
  }

  // === Results (Envoy's ActiveHealthCheckSession) ===

  private handleSuccess(degraded: boolean): void {
    const host = this.host;
    this.numUnhealthy = 0;
    let changed: HealthTransition = 'Unchanged';
    if (host.healthFlagGet(HealthFlag.FAILED_ACTIVE_HC)) {
      // The first result ever makes a host healthy at once ("during startup only a single
      // successful health check is required"); later, healthy_threshold successes in a row.
      if (this.firstCheck || ++this.numHealthy === this.parent.model.healthyThreshold) {
        host.healthFlagClear(HealthFlag.ACTIVE_HC_TIMEOUT);
        host.healthFlagClear(HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL);
        host.healthFlagClear(HealthFlag.FAILED_ACTIVE_HC);
        this.parent.stats.healthy++;
        changed = 'Changed';
        this.parent.events?.addHealthy(host, this.firstCheck);
        if (log.debugEnabled) log.debug(`cluster ${this.parent.clusterName}: host ${host.key} is healthy`);
      } else {
        changed = 'ChangePending';
      }
    }
    if (changed !== 'Changed' && this.parent.model.alwaysLogSuccess) this.parent.events?.successfulCheck(host);
    changed = this.clearPendingFlag(changed);
    if (degraded !== host.healthFlagGet(HealthFlag.DEGRADED_ACTIVE_HC)) {
      if (degraded) {
        host.healthFlagSet(HealthFlag.DEGRADED_ACTIVE_HC);
        this.parent.stats.degraded++;
        this.parent.events?.degraded(host);
      } else {
        host.healthFlagClear(HealthFlag.DEGRADED_ACTIVE_HC);
        this.parent.stats.degraded--;
        this.parent.events?.noLongerDegraded(host);
      }
      if (changed === 'Unchanged') changed = 'Changed';
    }
    this.parent.stats.success++;
    this.firstCheck = false;
    this.parent.onCheckComplete(host, changed, 'Healthy');
    this.finishCheck(nextInterval(this.parent.model, this.parent.hasTraffic(), 'Healthy', changed, this.parent.random));
  }

  /** `setUnhealthy`: ACTIVE and PASSIVE failures eject at once; NETWORK ones after unhealthy_threshold in a row. */
  setUnhealthy(type: FailureType, retriable: boolean, detail: string): HealthTransition {
    const host = this.host;
    this.numHealthy = 0;
    let changed: HealthTransition = 'Unchanged';
    const network = type === 'NETWORK' || type === 'NETWORK_TIMEOUT';
    if (!host.healthFlagGet(HealthFlag.FAILED_ACTIVE_HC)) {
      if ((!network && !retriable) || ++this.numUnhealthy === this.parent.model.unhealthyThreshold) {
        host.healthFlagSet(HealthFlag.FAILED_ACTIVE_HC);
        this.parent.stats.healthy--;
        changed = 'Changed';
        this.parent.events?.ejectUnhealthy(host, type);
        if (log.debugEnabled) log.debug(`cluster ${this.parent.clusterName}: host ${host.key} is unhealthy (${type}: ${detail})`);
      } else {
        changed = 'ChangePending';
      }
    }
    // A failed host that keeps timing out carries /active_hc_timeout; any other failure clears it.
    if (type === 'NETWORK_TIMEOUT' && host.healthFlagGet(HealthFlag.FAILED_ACTIVE_HC)) host.healthFlagSet(HealthFlag.ACTIVE_HC_TIMEOUT);
    else host.healthFlagClear(HealthFlag.ACTIVE_HC_TIMEOUT);
    changed = this.clearPendingFlag(changed);
    if (this.firstCheck || this.parent.model.alwaysLogFailures) this.parent.events?.unhealthy(host, type, this.firstCheck);
    this.parent.stats.failure++;
    if (network) this.parent.stats.network_failure++;
    else if (type === 'PASSIVE') this.parent.stats.passive_failure++;
    this.firstCheck = false;
    this.parent.onCheckComplete(host, changed, 'Unhealthy');
    return changed;
  }

  private handleFailure(type: FailureType, retriable: boolean, detail: string): void {
    const changed = this.setUnhealthy(type, retriable, detail);
    if (this.stopped) return; // the callback may have removed this host
    this.finishCheck(nextInterval(this.parent.model, this.parent.hasTraffic(), 'Unhealthy', changed, this.parent.random));
  }

  /** Clearing /pending_active_hc always counts as Changed, so the cluster rebuilds its excluded set. */
  private clearPendingFlag(changed: HealthTransition): HealthTransition {
    if (this.host.healthFlagGet(HealthFlag.PENDING_ACTIVE_HC)) {
      this.host.healthFlagClear(HealthFlag.PENDING_ACTIVE_HC);
      return 'Changed';
    }
    return changed;
  }

  /** The next check is armed when this one completes: the interval counts from completion. */
  private finishCheck(nextMs: number): void {
    if (this.stopped) return;
    this.parent.clock.clearTimeout(this.timeoutTimer);
    this.timeoutTimer = undefined;
    if (!this.parent.model.reuseConnection) this.prober.close();
    this.arm(nextMs);
  }
}
