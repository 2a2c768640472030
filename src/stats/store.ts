/**
 * The stats store: every counter, gauge and histogram of the process, by Envoy's flat name.
 *
 * Three kinds of entries:
 * - tables ({@link StatsStore.table}): plain objects of numbers for a scope, resolved when a
 *   runtime object is built and shared by name, so `stats.downstream_rq_total++` is the whole
 *   hot-path cost and counts survive config swaps (as Envoy's store keeps stats by name);
 * - histograms ({@link StatsStore.histogram}), likewise resolved once;
 * - sources ({@link StatsStore.addSource}): callbacks that report values owned elsewhere
 *   (clusters, hosts, process memory) when stats are read.
 *
 * Tag extraction and `stats_matcher` run once per name, when it is first read, and are cached.
 */
import { Histogram } from './histogram';
import type { StatsMatcher } from './stats-config';
import { type StatKind, type StatTableDecl } from './tables';
import { TagProducer, type TaggedName } from './tag-producer';

/** A counter or gauge as read. */
export interface StatValue {
  readonly name: string;
  readonly kind: StatKind;
  readonly value: number;
  readonly used: boolean;
}

export interface HistogramValue {
  readonly name: string;
  readonly histogram: Histogram;
}

/** What a source reports into when stats are read. */
export interface StatSink {
  /** A counter whose raw value may only grow (until its owner is replaced); `/reset_counters` is applied as an offset. */
  counter(name: string, value: number, used?: boolean): void;
  gauge(name: string, value: number, used?: boolean): void;
  histogram(name: string, histogram: Histogram): void;
  /**
   * Set when the sink takes only histograms (the periodic flush): a source may skip its counters
   * and gauges, and the names it would build for them.
   */
  readonly histogramsOnly?: boolean;
}

export type StatSource = (sink: StatSink) => void;

/** Everything readable at one moment. */
export interface StatsSnapshot {
  readonly counters: readonly StatValue[];
  readonly gauges: readonly StatValue[];
  readonly histograms: readonly HistogramValue[];
}

interface Table {
  readonly values: Record<string, number>;
  readonly keys: readonly string[];
  readonly names: readonly string[];
  readonly kinds: readonly StatKind[];
  readonly used: Uint8Array;
}

/** Envoy's default `stats_flush_interval`: the histogram interval view turns over this often. */
export const FLUSH_INTERVAL_MS = 5000;

export class StatsStore {
  private readonly tables = new Map<StatTableDecl, Map<string, Table>>();
  private readonly histograms = new Map<string, Histogram>();
  private readonly sources: StatSource[] = [];
  private readonly tagCache = new Map<string, TaggedName>();
  /** Stats created with their tags given (Istio's metrics), not extracted from the name. */
  private readonly explicitTags = new Map<string, TaggedName>();
  private readonly acceptCache = new Map<string, boolean>();
  /** `/reset_counters` offsets of source counters, by name. */
  private readonly offsets = new Map<string, number>();
  private readonly usedSourceStats = new Set<string>();
  private tagProducer = new TagProducer();
  private matcher: StatsMatcher = () => true;
  private flushTimer: NodeJS.Timeout | undefined;

  /** Installs the bootstrap's tag extraction and stats matcher (before stats are first read). */
  configure(tagProducer: TagProducer, matcher: StatsMatcher): void {
    this.tagProducer = tagProducer;
    this.matcher = matcher;
    this.tagCache.clear();
    this.acceptCache.clear();
  }

  /**
   * The shared table of `decl` under `prefix` (e.g. `http.ingress_http.`). Call when an object
   * is built, never per request.
   */
  table<D extends StatTableDecl>(prefix: string, decl: D): { -readonly [K in keyof D]: number } {
    let byPrefix = this.tables.get(decl);
    if (!byPrefix) this.tables.set(decl, (byPrefix = new Map()));
    let t = byPrefix.get(prefix);
    if (!t) {
      const keys = Object.keys(decl);
      const values: Record<string, number> = {};
      for (const k of keys) values[k] = 0;
      t = { values, keys, names: keys.map((k) => prefix + k), kinds: keys.map((k) => decl[k]!), used: new Uint8Array(keys.length) };
      byPrefix.set(prefix, t);
    }
    return t.values as { -readonly [K in keyof D]: number };
  }

  /** The shared histogram of this name. Call when an object is built, never per request. */
  histogram(name: string): Histogram {
    let h = this.histograms.get(name);
    if (!h) this.histograms.set(name, (h = new Histogram()));
    return h;
  }

  addSource(source: StatSource): void {
    this.sources.push(source);
  }

  /**
   * Declares a stat's tags, as Envoy's `counterFromStatNameWithTags` does: `name` is the flat
   * name (`<extracted>.<tag>.<value>...`), and tag extraction is not applied to it.
   */
  defineTags(name: string, tagged: TaggedName): void {
    this.explicitTags.set(name, tagged);
  }

  /** Tag-extracted name and tags of a flat name (cached). */
  tagged(name: string): TaggedName {
    const explicit = this.explicitTags.get(name);
    if (explicit) return explicit;
    let t = this.tagCache.get(name);
    if (!t) this.tagCache.set(name, (t = this.tagProducer.produceTags(name)));
    return t;
  }

  /** Reads everything, applying `stats_matcher`. */
  snapshot(): StatsSnapshot {
    const counters: StatValue[] = [];
    const gauges: StatValue[] = [];
    const histograms: HistogramValue[] = [];
    const seen = new Set<string>();
    const push = (name: string, kind: StatKind, value: number, used: boolean): void => {
      if (seen.has(name) || !this.accepts(name)) return;
      seen.add(name);
      (kind === 'counter' ? counters : gauges).push({ name, kind, value, used });
    };
    for (const byPrefix of this.tables.values()) {
      for (const t of byPrefix.values()) {
        for (let i = 0; i < t.keys.length; i++) {
          const v = t.values[t.keys[i]!]!;
          if (v !== 0) t.used[i] = 1;
          push(t.names[i]!, t.kinds[i]!, v, t.used[i] === 1);
        }
      }
    }
    for (const [name, h] of this.histograms) {
      if (!seen.has(name) && this.accepts(name)) {
        seen.add(name);
        histograms.push({ name, histogram: h });
      }
    }
    const sink: StatSink = {
      counter: (name, raw, used) => {
        let off = this.offsets.get(name) ?? 0;
        if (raw < off) {
          // The owner was replaced (its count restarted): the offset no longer applies.
          off = 0;
          this.offsets.delete(name);
        }
        const v = raw - off;
        if (raw !== 0 || used) this.usedSourceStats.add(name);
        push(name, 'counter', v, this.usedSourceStats.has(name));
      },
      gauge: (name, v, used) => {
        if (v !== 0 || used) this.usedSourceStats.add(name);
        push(name, 'gauge', v, this.usedSourceStats.has(name));
      },
      histogram: (name, h) => {
        if (seen.has(name) || !this.accepts(name)) return;
        seen.add(name);
        histograms.push({ name, histogram: h });
      },
    };
    for (const s of this.sources) s(sink);
    return { counters, gauges, histograms };
  }

  /** `/reset_counters`: every counter reads 0 from now on; gauges and histograms are kept (as Envoy). */
  resetCounters(): void {
    for (const byPrefix of this.tables.values()) {
      for (const t of byPrefix.values()) {
        for (let i = 0; i < t.keys.length; i++) {
          if (t.kinds[i] !== 'counter') continue;
          if (t.values[t.keys[i]!] !== 0) t.used[i] = 1;
          t.values[t.keys[i]!] = 0;
        }
      }
    }
    // Source counters belong to other objects: remember where zero is.
    const raw = new Map<string, number>();
    const sink: StatSink = {
      counter: (name, v) => { raw.set(name, v); },
      gauge: () => undefined,
      histogram: () => undefined,
    };
    for (const s of this.sources) s(sink);
    for (const [name, v] of raw) {
      this.offsets.set(name, v);
      if (v !== 0) this.usedSourceStats.add(name);
    }
  }

  /** Turns histogram intervals over; called every {@link FLUSH_INTERVAL_MS} once started. */
  flush(): void {
    for (const h of this.histograms.values()) h.flush();
    const sink: StatSink = { counter: () => undefined, gauge: () => undefined, histogram: (_n, h) => h.flush(), histogramsOnly: true };
    for (const s of this.sources) s(sink);
  }

  startFlushing(intervalMs = FLUSH_INTERVAL_MS): void {
    if (this.flushTimer) return;
    this.flushTimer = setInterval(() => this.flush(), intervalMs);
    this.flushTimer.unref();
  }

  stopFlushing(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
  }

  private accepts(name: string): boolean {
    let ok = this.acceptCache.get(name);
    if (ok === undefined) this.acceptCache.set(name, (ok = this.matcher(name)));
    return ok;
  }
}

let globalStore: StatsStore | undefined;

/** The process' store (Envoy has one per server; Legate runs one server per process). */
export function statsStore(): StatsStore {
  return (globalStore ??= new StatsStore());
}
