import type { Clock } from '../common/clock';
import type { HealthCheckModel } from '../snapshot/model';
import type { HealthEventLogger } from './event-logger';
import type { RandomSource } from './interval';
import type { HealthCheckedHost, HealthCheckerStats, HealthState, HealthTransition } from './types';

/** What a {@link HealthCheckSession} shares with the other sessions of its cluster's checker. */
export interface SessionParent {
  readonly model: HealthCheckModel;
  readonly clusterName: string;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly stats: HealthCheckerStats;
  readonly events: HealthEventLogger | undefined;
  /** Envoy: `cluster.upstream_cx_total.used()`: has the cluster ever made a (non-health-check) connection? */
  hasTraffic(): boolean;
  onCheckComplete(host: HealthCheckedHost, transition: HealthTransition, result: HealthState): void;
}
