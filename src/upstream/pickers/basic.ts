/**
 * The per-host-source pickers of Envoy's EDF-based balancers (load_balancer_impl.cc,
 * round_robin_lb, least_request_lb, random_lb): each one balances one list of hosts (the
 * healthy, degraded or all hosts of a priority level, or of one locality in it).
 */
import type { Host } from '../host';
import { EdfScheduler } from './edf';
import { randomIndex, type PickContext, type Picker } from './types';

const hostWeight = (h: Host): number => h.weight;

function equalWeights(hosts: readonly Host[]): boolean {
  for (let i = 1; i < hosts.length; i++) if (hosts[i]!.weight !== hosts[0]!.weight) return false;
  return true;
}

/** An EDF schedule over `hosts`, advanced `seed % n` picks so proxies don't start in step. */
function seededSchedule(hosts: readonly Host[], weightOf: (h: Host) => number): EdfScheduler<Host> {
  const s = new EdfScheduler<Host>();
  for (const h of hosts) s.add(weightOf(h), h);
  const skip = randomIndex(hosts.length);
  for (let i = 0; i < skip; i++) s.pickAndAdd(weightOf);
  return s;
}

/**
 * Round robin. Equal weights: rotation from a random start. Unequal weights: Envoy's EDF
 * schedule (deadline 1/weight), which interleaves hosts in proportion to their weights.
 */
export class RoundRobinPicker implements Picker {
  private next: number;
  private readonly edf: EdfScheduler<Host> | undefined;

  constructor(private readonly hosts: readonly Host[]) {
    this.next = randomIndex(Math.max(1, hosts.length));
    this.edf = hosts.length > 1 && !equalWeights(hosts) ? seededSchedule(hosts, hostWeight) : undefined;
  }

  pick(): Host | undefined {
    if (this.edf) return this.edf.pickAndAdd(hostWeight);
    const hosts = this.hosts;
    const n = hosts.length;
    if (n === 0) return undefined;
    const h = hosts[this.next]!;
    this.next = this.next + 1 === n ? 0 : this.next + 1;
    return h;
  }
}

/**
 * Random: `hosts[random % n]`. Like Envoy's RandomLoadBalancer, endpoint weights are not
 * used (random_lb.cc); weights still act through priorities and localities.
 */
export class RandomPicker implements Picker {
  constructor(private readonly hosts: readonly Host[]) {}

  pick(): Host | undefined {
    const n = this.hosts.length;
    return n === 0 ? undefined : this.hosts[randomIndex(n)];
  }
}

export interface LeastRequestOptions {
  readonly choiceCount: number;
  /** Set explicitly: weighted (EDF) selection even with equal weights. undefined = 1.0. */
  readonly activeRequestBias: number | undefined;
  readonly selectionMethod: 'N_CHOICES' | 'FULL_SCAN';
}

/**
 * Least request (least_request_lb.cc). Equal weights (and no explicit active_request_bias):
 * sample `choice_count` hosts at random (with replacement) and keep the first with the fewest
 * active requests (P2C), or scan them all (FULL_SCAN, ties broken at random). Otherwise an
 * EDF schedule whose weights are `weight / (active + 1)^active_request_bias`, taken when a
 * host is (re-)inserted.
 */
export class LeastRequestPicker implements Picker {
  private readonly edf: EdfScheduler<Host> | undefined;
  private readonly choiceCount: number;
  private readonly fullScan: boolean;
  private weightOf: (h: Host) => number = hostWeight;

  constructor(private readonly hosts: readonly Host[], options: LeastRequestOptions | number) {
    const o: LeastRequestOptions = typeof options === 'number' ? { choiceCount: options, activeRequestBias: undefined, selectionMethod: 'N_CHOICES' } : options;
    this.choiceCount = o.choiceCount;
    this.fullScan = o.selectionMethod === 'FULL_SCAN';
    const weighted = hosts.length > 1 && (o.activeRequestBias !== undefined || !equalWeights(hosts));
    if (weighted) {
      const bias = o.activeRequestBias ?? 1;
      const weightOf = bias === 0 ? hostWeight
        : bias === 1 ? (h: Host) => h.weight / (h.activeRequests + 1)
          : (h: Host) => h.weight / Math.pow(h.activeRequests + 1, bias);
      this.weightOf = weightOf;
      this.edf = seededSchedule(hosts, weightOf);
    }
  }

  pick(_ctx?: PickContext): Host | undefined {
    if (this.edf) return this.edf.pickAndAdd(this.weightOf);
    const hosts = this.hosts;
    const n = hosts.length;
    if (n === 0) return undefined;
    if (this.fullScan) {
      let best = hosts[0]!;
      let ties = 1;
      for (let i = 1; i < n; i++) {
        const h = hosts[i]!;
        if (h.activeRequests < best.activeRequests) {
          best = h;
          ties = 1;
        } else if (h.activeRequests === best.activeRequests && randomIndex(++ties) === 0) {
          best = h;
        }
      }
      return best;
    }
    let best = hosts[randomIndex(n)]!;
    for (let i = 1; i < this.choiceCount; i++) {
      const h = hosts[randomIndex(n)]!;
      if (h.activeRequests < best.activeRequests) best = h;
    }
    return best;
  }
}
