/**
 * Istio's standard HTTP metrics as Istio's stats filter keeps them in Envoy's store
 * (istio/proxy:source/extensions/filters/http/istio_stats): stats in the custom namespace
 * `istiocustom`, created with explicit tags, so that `/stats/prometheus` exports
 *
 *   istio_requests_total{reporter="source",source_workload="...",...} 3
 *   istio_request_duration_milliseconds_bucket{...,le="5"} 1   (Envoy's default buckets)
 *   istio_request_bytes_*, istio_response_bytes_*              (histograms, same buckets)
 *   istio_build{component="proxy",tag="<ISTIO_VERSION>"} 1
 *
 * and `/stats` the flat names Envoy prints for tagged stats
 * (`istiocustom.istio_requests_total.reporter.source.source_workload.x...`).
 *
 * Series are shared by flat name across connection managers (and config swaps), as Envoy's
 * store keeps stats by name. Nothing here runs per request: series are built once per label
 * set by the recorder (istio-recorder.ts), which caches them.
 */
import { Histogram } from '../histogram';
import { registerCustomStatNamespace } from '../prometheus';
import type { StatSink, StatsStore } from '../store';
import type { Tag } from '../tag-producer';

export const ISTIO_NAMESPACE = 'istiocustom';

/** The standard HTTP metrics: config name (as in `metrics[].name`) → stat name. */
export const HTTP_METRICS = {
  requests_total: 'istio_requests_total',
  request_duration_milliseconds: 'istio_request_duration_milliseconds',
  request_bytes: 'istio_request_bytes',
  response_bytes: 'istio_response_bytes',
} as const;

export type HttpMetric = keyof typeof HTTP_METRICS;

/** A counter cell: `cell.value++` is the whole hot-path cost. */
export interface CounterCell {
  value: number;
}

/** The node metadata Istio's filter reads for the local side (the bootstrap's node.metadata). */
export interface LocalNode {
  readonly workloadName: string;
  readonly namespace: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly clusterId: string;
  readonly app: string;
  readonly version: string;
  readonly istioVersion: string;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Reads WORKLOAD_NAME, NAMESPACE, CLUSTER_ID, ISTIO_VERSION and LABELS[app|version|canonical-*]; absent → "" as Istio's filter. */
export function localNodeFrom(metadata: Readonly<Record<string, unknown>>): LocalNode {
  const labels = (metadata['LABELS'] !== null && typeof metadata['LABELS'] === 'object' ? metadata['LABELS'] : {}) as Record<string, unknown>;
  return {
    workloadName: str(metadata['WORKLOAD_NAME']),
    namespace: str(metadata['NAMESPACE']),
    canonicalName: str(labels['service.istio.io/canonical-name']),
    canonicalRevision: str(labels['service.istio.io/canonical-revision']),
    clusterId: str(metadata['CLUSTER_ID']),
    app: str(labels['app']),
    version: str(labels['version']),
    istioVersion: str(metadata['ISTIO_VERSION']),
  };
}

/** Envoy's flat name of a tagged stat: the name, then `.tag.value` per tag. */
function flatName(statName: string, tags: readonly Tag[]): string {
  let n = `${ISTIO_NAMESPACE}.${statName}`;
  for (const t of tags) n += `.${t.name}.${t.value}`;
  return n;
}

export class IstioMetrics {
  private readonly counters = new Map<string, CounterCell>();
  private readonly histograms = new Map<string, Histogram>();
  private readonly gauges = new Map<string, number>();
  private store: StatsStore | undefined;
  private node: LocalNode = localNodeFrom({});
  private buildRecorded = false;

  /** The local node (set from the bootstrap before listeners are built). */
  setNode(metadata: Readonly<Record<string, unknown>>): void {
    this.node = localNodeFrom(metadata);
  }

  localNode(): LocalNode {
    return this.node;
  }

  /** Registers with the store; called once, when the first Istio stats filter is built. */
  attach(store: StatsStore): void {
    if (this.store) return;
    this.store = store;
    registerCustomStatNamespace(ISTIO_NAMESPACE);
    store.addSource((sink: StatSink) => {
      for (const [name, c] of this.counters) sink.counter(name, c.value, true);
      for (const [name, v] of this.gauges) sink.gauge(name, v, true);
      for (const [name, h] of this.histograms) sink.histogram(name, h);
    });
  }

  /** `istio_build{component="proxy",tag=<ISTIO_VERSION or "unknown">} 1`, as the filter records on creation. */
  recordBuild(): void {
    if (this.buildRecorded) return;
    this.buildRecorded = true;
    const tags: Tag[] = [{ name: 'component', value: 'proxy' }, { name: 'tag', value: this.node.istioVersion || 'unknown' }];
    const name = flatName('istio_build', tags);
    this.define(name, 'istio_build', tags);
    this.gauges.set(name, 1);
  }

  /** The counter of `statName` with these tags (created on first use). */
  counter(statName: string, tags: readonly Tag[]): CounterCell {
    const name = flatName(statName, tags);
    let c = this.counters.get(name);
    if (!c) {
      this.define(name, statName, tags);
      this.counters.set(name, (c = { value: 0 }));
    }
    return c;
  }

  /** The histogram of `statName` with these tags (created on first use). */
  histogram(statName: string, tags: readonly Tag[]): Histogram {
    const name = flatName(statName, tags);
    let h = this.histograms.get(name);
    if (!h) {
      this.define(name, statName, tags);
      this.histograms.set(name, (h = new Histogram()));
    }
    return h;
  }

  private define(name: string, statName: string, tags: readonly Tag[]): void {
    this.store?.defineTags(name, { extracted: `${ISTIO_NAMESPACE}.${statName}`, tags });
  }
}

let instance: IstioMetrics | undefined;

/** The process' Istio metrics (one Envoy store per process). */
export function istioMetrics(): IstioMetrics {
  return (instance ??= new IstioMetrics());
}
