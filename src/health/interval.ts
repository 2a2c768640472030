/**
 * Which interval follows a check, exactly as Envoy's `HealthCheckerImplBase::interval` and
 * `intervalWithJitter` (source/extensions/health_checkers/common/health_checker_base_impl.cc).
 * Pure functions, so every rule is unit-tested without timers.
 */
import type { HealthCheckModel } from '../snapshot/model';
import type { HealthState, HealthTransition } from './types';

/** A source of random unsigned integers (Envoy's `Random::RandomGenerator::random()`, used as `random() % n`). */
export type RandomSource = () => number;

/** Uniform integers in [0, 2^32). */
export const defaultRandom: RandomSource = () => Math.floor(Math.random() * 0x1_0000_0000);

/**
 * The base interval after a check, then jitter:
 * - until the cluster has made any connection (`upstream_cx_total` unused): `no_traffic_healthy_interval`
 *   for a healthy result that is not pending a flip, else `no_traffic_interval`;
 * - with traffic: unhealthy result → `unhealthy_edge_interval` when the flip is pending
 *   (threshold not reached yet), else `unhealthy_interval`; healthy result → `healthy_edge_interval`
 *   when pending, else `interval`.
 */
export function nextInterval(hc: HealthCheckModel, hasTraffic: boolean, state: HealthState, transition: HealthTransition, random: RandomSource): number {
  let base: number;
  if (hasTraffic) {
    if (state === 'Unhealthy') base = transition === 'ChangePending' ? hc.unhealthyEdgeIntervalMs : hc.unhealthyIntervalMs;
    else base = transition === 'ChangePending' ? hc.healthyEdgeIntervalMs : hc.intervalMs;
  } else {
    base = state === 'Healthy' && transition !== 'ChangePending' ? hc.noTrafficHealthyIntervalMs : hc.noTrafficIntervalMs;
  }
  return withJitter(base, hc.intervalJitterMs, hc.intervalJitterPercent, random);
}

/**
 * `intervalWithJitter`: `base += random() % (percent * base / 100)` when that is > 0, then
 * `base += random() % jitterMs` when > 0; never less than 1 ms (Envoy: "to prevent live lock").
 * Envoy works in integer milliseconds, and so does this.
 */
export function withJitter(baseMs: number, jitterMs: number, jitterPercent: number, random: RandomSource): number {
  let base = Math.floor(baseMs);
  const percentMod = Math.floor((jitterPercent * base) / 100);
  if (percentMod > 0) base += random() % percentMod;
  const jitter = Math.floor(jitterMs);
  if (jitter > 0) base += random() % jitter;
  return Math.max(1, base);
}

/** Delay of the first check: 0 (at once) without `initial_jitter`, else `intervalWithJitter(0, initial_jitter)` (`onInitialInterval`). */
export function initialDelay(hc: HealthCheckModel, random: RandomSource): number {
  if (hc.initialJitterMs <= 0) return 0;
  return withJitter(0, hc.initialJitterMs, hc.intervalJitterPercent, random);
}
