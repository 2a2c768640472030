import type { HealthCheckModel, SocketAddress } from '../../../src/snapshot/model';
import { HealthChecker } from '../../../src/health/health-checker';
import type { CheckOutcome, HealthCheckedHost, HealthTransition, Prober } from '../../../src/health/types';
import { formatHealthFlags } from '../../../src/health/health-flags';
import { TestClock } from '../../fakes/test-clock';

export const BASE: HealthCheckModel = {
  timeoutMs: 1000, intervalMs: 5000, initialJitterMs: 0, intervalJitterMs: 0, intervalJitterPercent: 0,
  unhealthyThreshold: 2, healthyThreshold: 3, reuseConnection: true,
  noTrafficIntervalMs: 60_000, noTrafficHealthyIntervalMs: 60_000, unhealthyIntervalMs: 5000,
  unhealthyEdgeIntervalMs: 5000, healthyEdgeIntervalMs: 5000,
  alwaysLogFailures: false, alwaysLogSuccess: false, eventLogPaths: [],
  checker: { kind: 'tcp', send: Buffer.alloc(0), receive: [] },
};

export class FakeHost implements HealthCheckedHost {
  flags = 0;
  readonly address: SocketAddress;
  constructor(readonly key = '10.0.0.1:80', readonly hostname = '') {
    const [h, p] = key.split(':');
    this.address = { kind: 'tcp', host: h!, port: Number(p) };
  }
  healthFlagGet(f: number): boolean { return (this.flags & f) !== 0; }
  healthFlagSet(f: number): void { this.flags |= f; }
  healthFlagClear(f: number): void { this.flags &= ~f; }
  get text(): string { return formatHealthFlags(this.flags); }
}

/** A prober whose checks stay open until the test answers them. */
export class FakeProber implements Prober {
  pending: ((o: CheckOutcome) => void) | undefined;
  checks = 0;
  aborts = 0;
  closes = 0;
  check(done: (o: CheckOutcome) => void): void { this.checks++; this.pending = done; }
  abort(): void { this.aborts++; this.pending = undefined; }
  close(): void { this.closes++; }
  answer(o: CheckOutcome): void { const d = this.pending; this.pending = undefined; d?.(o); }
  pass(degraded = false): void { this.answer({ healthy: true, degraded }); }
  failActive(): void { this.answer({ healthy: false, type: 'ACTIVE', retriable: false, detail: 'NOT_SERVING' }); }
  failNetwork(): void { this.answer({ healthy: false, type: 'NETWORK', retriable: false, detail: 'ECONNRESET' }); }
}

export function setup(model: Partial<HealthCheckModel>, opts: { traffic?: boolean; random?: () => number; hostFlags?: number } = {}) {
  const clock = new TestClock();
  const prober = new FakeProber();
  const host = new FakeHost();
  host.flags = opts.hostFlags ?? 0;
  const transitions: HealthTransition[] = [];
  let traffic = opts.traffic ?? true;
  const hc = new HealthChecker({ ...BASE, ...model }, {
    clusterName: 'svc', clock, random: opts.random ?? (() => 0),
    hasTraffic: () => traffic,
    onCheckComplete: (_h, t) => transitions.push(t),
    proberFactory: () => prober,
  });
  return {
    clock, prober, host, hc, transitions,
    setTraffic: (v: boolean) => { traffic = v; },
    start: () => hc.addHosts([host]),
    /** Advance to the next armed timer. */
    next: () => clock.advance(clock.nextIn()!),
  };
}
