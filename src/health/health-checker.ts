/**
 * A cluster's active health checker: one {@link HealthCheckSession} per host, the shared
 * `health_check.*` stats, and the callback through which the cluster learns each result
 * (Envoy's `HealthCheckerImplBase`: addHosts / onClusterMemberUpdate / addHostCheckCompleteCb).
 */
import { systemClock, type Clock } from '../common/clock';
import type { HealthCheckModel } from '../snapshot/model';
import { HealthEventLogger, type HealthCheckerType } from './event-logger';
import { defaultRandom, type RandomSource } from './interval';
import { HealthFlag } from './health-flags';
import { createProber } from './probers';
import { HealthCheckSession } from './session';
import type { SessionParent } from './session-parent';
import {
  newHealthCheckerStats, type HealthCheckedHost, type HealthCheckerStats, type HealthState, type HealthTransition,
  type HostCheckCompleteCallback, type Prober,
} from './types';

export interface HealthCheckerOptions {
  readonly clusterName: string;
  /** Whether the cluster has ever made a data-path connection (`upstream_cx_total.used()`). */
  readonly hasTraffic: () => boolean;
  /** After each check; `Changed` means the host's health (or exclusion) changed. */
  readonly onCheckComplete: HostCheckCompleteCallback;
  /** Default: the real clock. */
  readonly clock?: Clock;
  /** Default: uniform 32-bit integers. */
  readonly random?: RandomSource;
  /** Default: the gRPC/HTTP/TCP prober the model names (tests inject fakes). */
  readonly proberFactory?: (host: HealthCheckedHost) => Prober;
}

export class HealthChecker implements SessionParent {
  readonly stats: HealthCheckerStats = newHealthCheckerStats();
  readonly clusterName: string;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly events: HealthEventLogger | undefined;
  private readonly sessions = new Map<HealthCheckedHost, HealthCheckSession>();
  private readonly proberFactory: (host: HealthCheckedHost) => Prober;

  constructor(readonly model: HealthCheckModel, private readonly options: HealthCheckerOptions) {
    this.clusterName = options.clusterName;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? defaultRandom;
    this.proberFactory = options.proberFactory ?? ((host) => createProber(model, options.clusterName, host));
    this.events = model.eventLogPaths.length
      ? new HealthEventLogger(model.eventLogPaths, options.clusterName, CHECKER_TYPE[model.checker.kind])
      : undefined;
  }

  hasTraffic(): boolean {
    return this.options.hasTraffic();
  }

  onCheckComplete(host: HealthCheckedHost, transition: HealthTransition, result: HealthState): void {
    this.options.onCheckComplete(host, transition, result);
  }

  /** Starts checking `hosts` (Envoy: addHosts, each session's first check right away or after initial_jitter). */
  addHosts(hosts: Iterable<HealthCheckedHost>): void {
    for (const host of hosts) {
      if (this.sessions.has(host)) continue;
      const session = new HealthCheckSession(host, this, this.proberFactory(host));
      this.sessions.set(host, session);
      session.start();
    }
  }

  /** Stops checking `hosts` (they left the cluster). */
  removeHosts(hosts: Iterable<HealthCheckedHost>): void {
    for (const host of hosts) {
      const session = this.sessions.get(host);
      if (!session) continue;
      this.sessions.delete(host);
      session.stop();
    }
  }

  /**
   * The host answered with `x-envoy-immediate-health-check-fail` (Envoy's
   * `setUnhealthyCrossThread(ImmediateHealthCheckFail)`): excluded at once and failed as a
   * PASSIVE failure (`health_check.passive_failure`), without moving its check timer.
   */
  immediateFailure(host: HealthCheckedHost): void {
    const session = this.sessions.get(host);
    if (!session) return;
    host.healthFlagSet(HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL);
    session.setUnhealthy('PASSIVE', false, 'x-envoy-immediate-health-check-fail');
  }

  /** Hosts being checked. */
  get hostCount(): number {
    return this.sessions.size;
  }

  stop(): void {
    this.removeHosts([...this.sessions.keys()]);
    this.events?.close();
  }
}

/**
 * What a cluster needs of its active health checker: the checker above, or (in a
 * `--concurrency` worker process) one fed by the primary's checks (src/workers/remote-health.ts).
 */
export type ClusterHealthChecker = Pick<HealthChecker, 'addHosts' | 'removeHosts' | 'stop' | 'immediateFailure' | 'stats' | 'hostCount'>;

const CHECKER_TYPE: Record<HealthCheckModel['checker']['kind'], HealthCheckerType> = { grpc: 'GRPC', http: 'HTTP', tcp: 'TCP' };
