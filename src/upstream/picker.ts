/**
 * Pickers: small immutable objects with a synchronous pick(), rebuilt whenever a
 * cluster's host set changes (grpc-js's Picker). A pick never awaits or logs.
 */
import type { Host } from './host';

export interface Picker {
  /** The host for this request, or undefined when the cluster has no usable host (→ 503 UH). */
  pick(): Host | undefined;
}

export const EMPTY_PICKER: Picker = { pick: () => undefined };

/**
 * Round robin. Equal weights: rotation from a random start (Envoy starts at a random
 * index so a fleet of proxies doesn't hit host 0 together). Unequal weights: smooth
 * weighted round robin, which interleaves hosts in proportion to their weights.
 */
export class RoundRobinPicker implements Picker {
  private next: number;
  private readonly weighted: boolean;
  private readonly current: number[];
  private readonly totalWeight: number;

  constructor(private readonly hosts: readonly Host[]) {
    this.next = Math.floor(Math.random() * Math.max(1, hosts.length));
    this.weighted = hosts.some((h) => h.weight !== hosts[0]!.weight);
    this.current = hosts.map(() => 0);
    this.totalWeight = hosts.reduce((s, h) => s + h.weight, 0);
  }

  pick(): Host | undefined {
    const hosts = this.hosts;
    const n = hosts.length;
    if (n === 0) return undefined;
    if (!this.weighted) {
      const h = hosts[this.next]!;
      this.next = this.next + 1 === n ? 0 : this.next + 1;
      return h;
    }
    let best = 0;
    const cur = this.current;
    for (let i = 0; i < n; i++) {
      cur[i]! += hosts[i]!.weight;
      if (cur[i]! > cur[best]!) best = i;
    }
    cur[best]! -= this.totalWeight;
    return hosts[best];
  }
}

/** Uniformly random host. */
export class RandomPicker implements Picker {
  constructor(private readonly hosts: readonly Host[]) {}

  pick(): Host | undefined {
    const n = this.hosts.length;
    return n === 0 ? undefined : this.hosts[Math.floor(Math.random() * n)];
  }
}

/**
 * Least request, power of `choiceCount` choices (Envoy's default for equal weights):
 * sample hosts at random and keep the one with the fewest active requests.
 */
export class LeastRequestPicker implements Picker {
  constructor(private readonly hosts: readonly Host[], private readonly choiceCount: number) {}

  pick(): Host | undefined {
    const hosts = this.hosts;
    const n = hosts.length;
    if (n === 0) return undefined;
    let best = hosts[Math.floor(Math.random() * n)]!;
    for (let i = 1; i < this.choiceCount; i++) {
      const h = hosts[Math.floor(Math.random() * n)]!;
      if (h.activeRequests < best.activeRequests) best = h;
    }
    return best;
  }
}
