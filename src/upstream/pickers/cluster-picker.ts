/**
 * A cluster's picker: Envoy's pipeline of priority → locality → host
 * (load_balancer_impl.cc ZoneAwareLoadBalancerBase / EdfLoadBalancerBase for ROUND_ROBIN,
 * LEAST_REQUEST and RANDOM; thread_aware_lb_impl.cc for RING_HASH and MAGLEV).
 *
 * Built from the hosts that may take traffic (not excluded) whenever membership or health
 * changes; a pick is synchronous and, apart from the host-level picker's work, one table lookup.
 */
import type { Host } from '../host';
import type { LbConfigModel, LbPolicy } from '../../snapshot/model';
import { DEFAULT_ASSIGNMENT_POLICY } from '../../snapshot/model';
import { LeastRequestPicker, RandomPicker, RoundRobinPicker } from './basic';
import { EdfScheduler } from './edf';
import { MaglevPicker, normalizeHostWeights, normalizeLocalityWeights, RingHashPicker } from './hash-ring';
import { computePriorityLoad, type LevelCounts, type PriorityLoad } from './priority-load';
import { random64, randomIndex, type PickContext, type Picker } from './types';

export interface ClusterLbSettings {
  readonly policy: LbPolicy;
  readonly config: LbConfigModel;
  /** common_lb_config.healthy_panic_threshold in percent. */
  readonly panicThresholdPercent: number;
}

/** Where lb_healthy_panic is counted. */
export interface PanicCounter {
  lb_healthy_panic: number;
}

interface Level {
  readonly priority: number;
  readonly all: readonly Host[];
  readonly healthy: readonly Host[];
  readonly degraded: readonly Host[];
}

/** One entry per percent point 1..100: which level and which of its sources serve it. */
interface Slot {
  readonly picker: Picker;
  readonly panic: boolean;
}

const isHash = (p: LbPolicy): boolean => p === 'RING_HASH' || p === 'MAGLEV';

export class ClusterPicker implements Picker {
  /** The computed priority load (per level index, levels in ascending priority). */
  readonly load: PriorityLoad;
  /** Priorities of the levels, in the order of `load`. */
  readonly priorities: readonly number[];
  /** Whether some level that receives traffic is in panic. */
  readonly inPanic: boolean;
  private readonly slots: Slot[];
  private readonly single: Slot | undefined;
  private readonly hashed: boolean;

  constructor(hosts: readonly Host[], private readonly s: ClusterLbSettings, private readonly counter: PanicCounter) {
    this.hashed = isHash(s.policy);
    const levels = groupLevels(hosts);
    const policy = hosts[0]?.assignmentPolicy ?? DEFAULT_ASSIGNMENT_POLICY;
    const weighted = policy.weightedPriorityHealth;
    const sum = (l: readonly Host[]) => (weighted ? l.reduce((a, h) => a + h.weight, 0) : l.length);
    const counts: LevelCounts[] = levels.map((l) => ({
      healthy: sum(l.healthy),
      degraded: sum(l.degraded),
      total: sum(l.all),
      hostCount: l.all.length,
      healthyCount: l.healthy.length,
      degradedCount: l.degraded.length,
      overprovisioningFactor: policy.overprovisioningFactor,
    }));
    const load = computePriorityLoad(counts, s.panicThresholdPercent);
    this.load = load;
    this.priorities = levels.map((l) => l.priority);
    const factor = policy.overprovisioningFactor;

    // One slot per load bucket; pickers are built only for sources that get traffic.
    const built = new Map<string, Slot>();
    const slotFor = (i: number, degraded: boolean): Slot => {
      const level = levels[i];
      const panic = load.panic[i] === true;
      const key = `${i}:${panic ? 'all' : degraded ? 'degraded' : 'healthy'}`;
      let slot = built.get(key);
      if (!slot) {
        const picker = level === undefined ? EMPTY : panic ? this.sourcePicker(level.all, level, 'all', factor) : this.sourcePicker(degraded ? level.degraded : level.healthy, level, degraded ? 'degraded' : 'healthy', factor);
        slot = { picker, panic };
        built.set(key, slot);
      }
      return slot;
    };
    this.slots = [];
    let acc = 0;
    const push = (i: number, pct: number, degraded: boolean) => {
      if (pct <= 0) return;
      const slot = slotFor(i, degraded);
      for (let k = 0; k < pct && acc < 100; k++, acc++) this.slots.push(slot);
    };
    for (let i = 0; i < load.healthy.length; i++) push(i, load.healthy[i]!, false);
    for (let i = 0; i < load.degraded.length; i++) push(i, load.degraded[i]!, true);
    while (this.slots.length < 100) this.slots.push(slotFor(0, false));
    this.single = built.size === 1 ? this.slots[0] : undefined;
    this.inPanic = [...built.values()].some((x) => x.panic);
  }

  pick(ctx?: PickContext): Host | undefined {
    let slot = this.single;
    if (this.hashed) {
      // The hash (or one random value) chooses the priority and the host (thread_aware_lb_impl.cc).
      let c = ctx;
      if (c?.hash === undefined) c = { hash: random64() };
      if (!slot) slot = this.slots[Number(c.hash! % 100n)]!;
      if (slot.panic) this.counter.lb_healthy_panic++;
      return slot.picker.pick(c);
    }
    if (!slot) slot = this.slots[randomIndex(100)]!;
    if (slot.panic) this.counter.lb_healthy_panic++;
    return slot.picker.pick(ctx);
  }

  /** The picker for one host source of a level: by locality first when locality-weighted. */
  private sourcePicker(hosts: readonly Host[], level: Level, kind: 'healthy' | 'degraded' | 'all', factor: number): Picker {
    const cfg = this.s.config;
    if (this.hashed) {
      // Healthy hosts (all of them in panic), by locality weight when locality-weighted (normalizeWeights).
      const weights = cfg.localityWeighted ? normalizeLocalityWeights(groupLocalities(hosts)) : normalizeHostWeights(hosts);
      return this.s.policy === 'RING_HASH'
        ? new RingHashPicker(weights, { minRingSize: cfg.minRingSize, maxRingSize: cfg.maxRingSize, useHostnameForHashing: cfg.useHostnameForHashing })
        : new MaglevPicker(weights, { tableSize: cfg.maglevTableSize, useHostnameForHashing: cfg.useHostnameForHashing });
    }
    if (cfg.localityWeighted && kind !== 'all') {
      const lp = LocalityPicker.build(hosts, level.all, factor, (h) => this.hostPicker(h));
      if (lp) return lp;
    }
    return this.hostPicker(hosts);
  }

  private hostPicker(hosts: readonly Host[]): Picker {
    const cfg = this.s.config;
    switch (this.s.policy) {
      case 'LEAST_REQUEST': return new LeastRequestPicker(hosts, { choiceCount: cfg.choiceCount, activeRequestBias: cfg.activeRequestBias, selectionMethod: cfg.selectionMethod });
      case 'RANDOM': return new RandomPicker(hosts);
      default: return new RoundRobinPicker(hosts);
    }
  }
}

const EMPTY: Picker = { pick: () => undefined };

function groupLevels(hosts: readonly Host[]): Level[] {
  const by = new Map<number, { all: Host[]; healthy: Host[]; degraded: Host[] }>();
  let max = 0;
  for (const h of hosts) {
    const p = h.priority;
    max = Math.max(max, p);
    let l = by.get(p);
    if (!l) by.set(p, (l = { all: [], healthy: [], degraded: [] }));
    l.all.push(h);
    const c = h.coarseHealth;
    if (c === 'healthy') l.healthy.push(h);
    else if (c === 'degraded') l.degraded.push(h);
  }
  // Levels 0..max with no gaps: an empty level still takes part in the load computation.
  const out: Level[] = [];
  for (let p = 0; p <= max && hosts.length > 0; p++) {
    const l = by.get(p) ?? { all: [], healthy: [], degraded: [] };
    out.push({ priority: p, ...l });
  }
  return out;
}

interface LocalityGroup {
  readonly key: string;
  readonly weight: number;
  readonly hosts: Host[];
}

function localityKey(h: Host): string {
  const l = h.locality;
  return `${l.region}\u0000${l.zone}\u0000${l.subZone}`;
}

/** Hosts grouped by locality, in order of first appearance, with the locality's weight. */
function groupLocalities(hosts: readonly Host[]): LocalityGroup[] {
  const by = new Map<string, LocalityGroup>();
  for (const h of hosts) {
    const k = localityKey(h);
    let g = by.get(k);
    if (!g) by.set(k, (g = { key: k, weight: h.localityWeight, hosts: [] }));
    g.hosts.push(h);
  }
  return [...by.values()];
}

interface LocalityEntry {
  readonly effectiveWeight: number;
  readonly picker: Picker;
}

/**
 * Locality-weighted selection (locality_weight.rst, HostSetImpl::effectiveLocalityWeight):
 * `effective = locality_weight * min(1, factor/100 * eligible / (hosts - excluded))`, localities
 * picked by EDF over their effective weights, then a host inside the locality.
 */
export class LocalityPicker implements Picker {
  private constructor(private readonly edf: EdfScheduler<LocalityEntry>) {}

  static build(eligible: readonly Host[], all: readonly Host[], factor: number, hostPicker: (hosts: readonly Host[]) => Picker): LocalityPicker | undefined {
    if (eligible.length === 0) return undefined;
    const allBy = new Map<string, number>();
    for (const h of all) allBy.set(localityKey(h), (allBy.get(localityKey(h)) ?? 0) + 1);
    const entries: LocalityEntry[] = [];
    for (const g of groupLocalities(eligible)) {
      const total = allBy.get(g.key) ?? 0;
      if (total === 0) continue;
      const effectiveWeight = effectiveLocalityWeight(g.weight, g.hosts.length, total, factor);
      if (effectiveWeight > 0) entries.push({ effectiveWeight, picker: hostPicker(g.hosts) });
    }
    if (entries.length === 0) return undefined;
    const edf = new EdfScheduler<LocalityEntry>();
    for (const e of entries) edf.add(e.effectiveWeight, e);
    const skip = randomIndex(entries.length);
    for (let i = 0; i < skip; i++) edf.pickAndAdd(weightOfEntry);
    return new LocalityPicker(edf);
  }

  pick(ctx?: PickContext): Host | undefined {
    return this.edf.pickAndAdd(weightOfEntry)?.picker.pick(ctx);
  }
}

const weightOfEntry = (e: LocalityEntry): number => e.effectiveWeight;

/** `locality_weight * min(1, factor/100 * eligible/total)`. */
export function effectiveLocalityWeight(localityWeight: number, eligible: number, total: number, factorPercent: number): number {
  if (total === 0) return 0;
  return localityWeight * Math.min(1, (factorPercent / 100) * (eligible / total));
}
