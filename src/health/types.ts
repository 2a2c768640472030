/**
 * What the health-check framework needs from the outside. `src/health` imports nothing from
 * `src/upstream`: a cluster hands it hosts through {@link HealthCheckedHost} and learns results
 * through the callback it passes in.
 */
import type { SocketAddress } from '../snapshot/model';

/** A host as the health checker sees it (implemented by upstream's `Host`). */
export interface HealthCheckedHost {
  /** `ip:port` (or the pipe path): unique within a cluster. */
  readonly key: string;
  readonly address: SocketAddress;
  /** Endpoint hostname ('' when none). */
  readonly hostname: string;
  /** True when the given flag bit(s) are set (see health-flags.ts). */
  healthFlagGet(flag: number): boolean;
  healthFlagSet(flag: number): void;
  healthFlagClear(flag: number): void;
}

/** Envoy's `HealthTransition`. */
export type HealthTransition = 'Unchanged' | 'Changed' | 'ChangePending';

/** Envoy's `HealthState`: the outcome of the check just finished. */
export type HealthState = 'Healthy' | 'Unhealthy';

/** envoy.data.core.v3.HealthCheckFailureType. */
export type FailureType = 'ACTIVE' | 'PASSIVE' | 'NETWORK' | 'NETWORK_TIMEOUT';

/** The result of one probe. */
export type CheckOutcome =
  | { readonly healthy: true; readonly degraded: boolean }
  | {
    readonly healthy: false;
    /** ACTIVE: the host answered "not healthy" (immediate unless retriable); NETWORK: no usable answer (counts toward unhealthy_threshold). */
    readonly type: 'ACTIVE' | 'NETWORK';
    /** HTTP retriable_statuses: an ACTIVE failure that counts toward the threshold instead. */
    readonly retriable: boolean;
    /** For logs: e.g. `NOT_SERVING`, `grpc-status 12`, `ECONNREFUSED`. */
    readonly detail: string;
  };

/**
 * One host's probe transport (gRPC, HTTP or TCP). A prober keeps its connection between checks
 * when `reuse_connection` is on.
 */
export interface Prober {
  /** Starts one check; calls `done` exactly once, unless `abort()` comes first. */
  check(done: (outcome: CheckOutcome) => void): void;
  /** The check timed out: abandon it (reset the stream, or close the connection), never call its `done`. */
  abort(): void;
  /** Close the probe connection (after each check with `reuse_connection: false`, and when the session ends); a later check opens a new one. */
  close(): void;
}

/** Counters and gauges under `cluster.<name>.health_check.` (Envoy's ALL_HEALTH_CHECKER_STATS). */
export interface HealthCheckerStats {
  attempt: number;
  success: number;
  failure: number;
  passive_failure: number;
  network_failure: number;
  verify_cluster: number;
  /** Gauge: hosts without /failed_active_hc. */
  healthy: number;
  /** Gauge: hosts with /degraded_active_hc. */
  degraded: number;
}

export function newHealthCheckerStats(): HealthCheckerStats {
  return { attempt: 0, success: 0, failure: 0, passive_failure: 0, network_failure: 0, verify_cluster: 0, healthy: 0, degraded: 0 };
}

/** Called after every check: the cluster rebuilds its picker when `transition` is `Changed`. */
export type HostCheckCompleteCallback = (host: HealthCheckedHost, transition: HealthTransition, result: HealthState) => void;
