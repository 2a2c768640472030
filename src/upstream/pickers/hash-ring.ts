/**
 * The consistent-hashing tables of Envoy's thread-aware balancers: the ketama ring of
 * RING_HASH (ring_hash_lb.cc) and the Maglev lookup table (maglev_lb.cc). Both are built once,
 * when the picker is built, from normalized host weights (thread_aware_lb_impl.cc
 * normalizeWeights), and looked up per request with the request's hash.
 */
import type { Host } from '../host';
import { xxHash64 } from './xxhash64';
import { random64, type PickContext, type Picker } from './types';

/** A host and its share of the level (all shares sum to 1). */
export interface NormalizedHostWeight {
  readonly host: Host;
  readonly weight: number;
}

/** Host weights normalized to sum to 1 (`normalizeHostWeights`), scaled by a locality's share. */
export function normalizeHostWeights(hosts: readonly Host[], localityShare = 1, out: NormalizedHostWeight[] = []): NormalizedHostWeight[] {
  let sum = 0;
  for (const h of hosts) sum += h.weight;
  for (const h of hosts) out.push({ host: h, weight: (h.weight * localityShare) / sum });
  return out;
}

/**
 * With locality weighting: each locality's share is its weight over the sum of locality
 * weights; a locality of weight 0 contributes nothing (`normalizeLocalityWeights`).
 */
export function normalizeLocalityWeights(localities: ReadonlyArray<{ readonly weight: number; readonly hosts: readonly Host[] }>): NormalizedHostWeight[] {
  let sum = 0;
  for (const l of localities) sum += l.weight;
  const out: NormalizedHostWeight[] = [];
  if (sum === 0) return out;
  for (const l of localities) if (l.weight !== 0) normalizeHostWeights(l.hosts, l.weight / sum, out);
  return out;
}

/** The key a host is hashed by: `envoy.lb` hash_key metadata, else hostname or `ip:port`. */
export function hostHashKey(h: Host, useHostname: boolean): string {
  const k = h.hashKey;
  if (k) return k;
  return useHostname ? h.hostname : h.key;
}

export interface RingHashOptions {
  readonly minRingSize: number;
  readonly maxRingSize: number;
  readonly useHostnameForHashing: boolean;
}

/**
 * Ketama ring. The least-weighted host gets a whole number of entries; the ring has
 * `ceil(min(ceil(minWeight * minRingSize) / minWeight, maxRingSize))` entries, each host's
 * entries hashed as xxHash64("<key>_<i>"), sorted by hash. A request takes the first entry
 * whose hash is >= its own (wrapping to the start).
 */
export class RingHashPicker implements Picker {
  /** Entry hashes in ascending order, as high and low 32-bit halves (compared without BigInt on the hot path). */
  private readonly hashHi: Uint32Array;
  private readonly hashLo: Uint32Array;
  private readonly hosts: Host[];
  /** Smallest/largest number of entries of a host (Envoy's ring_hash_lb min/max_hashes_per_host). */
  readonly minHashesPerHost: number;
  readonly maxHashesPerHost: number;

  constructor(weights: readonly NormalizedHostWeight[], o: RingHashOptions) {
    if (weights.length === 0) {
      this.hashHi = new Uint32Array(0);
      this.hashLo = new Uint32Array(0);
      this.hosts = [];
      this.minHashesPerHost = this.maxHashesPerHost = 0;
      return;
    }
    let minW = Infinity;
    for (const w of weights) minW = Math.min(minW, w.weight);
    const scale = Math.min(Math.ceil(minW * o.minRingSize) / minW, o.maxRingSize);
    const ringSize = Math.ceil(scale);
    const entries: Array<{ hash: bigint; host: Host }> = [];
    let current = 0;
    let target = 0;
    let minPer = ringSize;
    let maxPer = 0;
    for (const { host, weight } of weights) {
      const key = hostHashKey(host, o.useHostnameForHashing);
      target += scale * weight;
      let i = 0;
      while (current < target) {
        entries.push({ hash: xxHash64(`${key}_${i}`), host });
        i++;
        current++;
      }
      minPer = Math.min(minPer, i);
      maxPer = Math.max(maxPer, i);
    }
    // std::sort is not stable: equal hashes (practically never) may order either way.
    entries.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
    this.hashHi = Uint32Array.from(entries, (e) => Number(e.hash >> 32n));
    this.hashLo = Uint32Array.from(entries, (e) => Number(e.hash & 0xffffffffn));
    this.hosts = entries.map((e) => e.host);
    this.minHashesPerHost = minPer;
    this.maxHashesPerHost = maxPer;
  }

  get size(): number {
    return this.hosts.length;
  }

  pick(ctx?: PickContext): Host | undefined {
    return this.lookup(ctx?.hash ?? random64());
  }

  /** Ketama's binary search, as in `RingHashLoadBalancer::Ring::chooseHost`. */
  lookup(h: bigint): Host | undefined {
    const hi = this.hashHi;
    const lo = this.hashLo;
    const n = hi.length;
    if (n === 0) return undefined;
    const hh = Number(h >> 32n);
    const hl = Number(h & 0xffffffffn);
    let low = 0;
    let high = n;
    let mid = 0;
    for (;;) {
      mid = Math.floor((low + high) / 2);
      if (mid === n) {
        mid = 0;
        break;
      }
      // h <= ring[mid] && h > ring[mid - 1] (ring[-1] = 0)
      const mh = hi[mid]!;
      const ml = lo[mid]!;
      const hLeMid = hh < mh || (hh === mh && hl <= ml);
      if (hLeMid) {
        if (mid === 0) {
          if (hh !== 0 || hl !== 0) break;
        } else {
          const ph = hi[mid - 1]!;
          const pl = lo[mid - 1]!;
          if (hh > ph || (hh === ph && hl > pl)) break;
        }
        high = mid - 1;
      } else {
        low = mid + 1;
      }
      if (low > high) {
        mid = 0;
        break;
      }
    }
    return this.hosts[mid];
  }
}

export interface MaglevOptions {
  readonly tableSize: number;
  readonly useHostnameForHashing: boolean;
}

/**
 * Maglev (Eisenbud et al., NSDI '16, pseudocode listing 1) with Envoy's weighting: each host
 * has offset = xxHash64(key) % M and skip = xxHash64(key, seed 1) % (M - 1) + 1, and fills the
 * next free slot of its permutation `(offset + skip * next) % M` on the rounds where
 * `round * weight >= target` (target grows by the largest weight each time it fills one).
 */
export class MaglevPicker implements Picker {
  private readonly table: Host[];
  private readonly sizeBig: bigint;
  /** Entries per host, in input order (Envoy's maglev_lb min/max_entries_per_host come from it). */
  readonly entriesPerHost: number[];

  constructor(weights: readonly NormalizedHostWeight[], o: MaglevOptions) {
    const m = o.tableSize;
    this.sizeBig = BigInt(m);
    this.entriesPerHost = weights.map(() => 0);
    if (weights.length === 0) {
      this.table = [];
      return;
    }
    let maxW = 0;
    for (const w of weights) maxW = Math.max(maxW, w.weight);
    const mBig = BigInt(m);
    const build = weights.map(({ host, weight }) => {
      const key = hostHashKey(host, o.useHostnameForHashing);
      return {
        host,
        weight,
        offset: Number(xxHash64(key) % mBig),
        skip: Number(xxHash64(key, 1n) % (mBig - 1n)) + 1,
        target: 0,
        next: 0,
      };
    });
    const table = new Array<Host | undefined>(m).fill(undefined);
    let filled = 0;
    for (let iteration = 1; filled < m; iteration++) {
      for (let i = 0; i < build.length && filled < m; i++) {
        const e = build[i]!;
        if (iteration * e.weight < e.target) continue;
        e.target += maxW;
        // offset, skip < M <= 5000011, next < M: the product stays below 2^53.
        let c = (e.offset + e.skip * e.next) % m;
        while (table[c] !== undefined) {
          e.next++;
          c = (e.offset + e.skip * e.next) % m;
        }
        table[c] = e.host;
        e.next++;
        this.entriesPerHost[i]!++;
        filled++;
      }
    }
    this.table = table as Host[];
  }

  pick(ctx?: PickContext): Host | undefined {
    return this.lookup(ctx?.hash ?? random64());
  }

  lookup(h: bigint): Host | undefined {
    if (this.table.length === 0) return undefined;
    return this.table[Number(h % this.sizeBig)];
  }
}
