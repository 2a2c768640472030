import type { Host } from '../../../src/upstream/host';
import type { LoadAssignmentPolicyModel } from '../../../src/snapshot/model';

export interface FakeHostOptions {
  weight?: number;
  active?: number;
  priority?: number;
  health?: 'healthy' | 'degraded' | 'unhealthy';
  zone?: string;
  localityWeight?: number;
  hashKey?: string;
  policy?: LoadAssignmentPolicyModel;
}

/** The fields pickers read, on a plain object (`activeRequests` is writable for tests). */
export function fakeHost(key: string, o: FakeHostOptions = {}): Host & { activeRequests: number } {
  return {
    key,
    hostname: `${key}.example`,
    weight: o.weight ?? 1,
    activeRequests: o.active ?? 0,
    priority: o.priority ?? 0,
    coarseHealth: o.health ?? 'healthy',
    locality: { region: '', zone: o.zone ?? '', subZone: '' },
    localityWeight: o.localityWeight ?? 0,
    hashKey: o.hashKey ?? '',
    assignmentPolicy: o.policy ?? { overprovisioningFactor: 140, weightedPriorityHealth: false },
  } as unknown as Host & { activeRequests: number };
}

/** `n` hosts `10.0.0.<i>:80`. */
export function hosts(n: number, o: FakeHostOptions = {}): Array<Host & { activeRequests: number }> {
  return Array.from({ length: n }, (_, i) => fakeHost(`10.0.0.${i + 1}:80`, o));
}

export function countBy<T>(items: Iterable<T>, key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of items) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}
