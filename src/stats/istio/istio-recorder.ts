/**
 * The per-connection-manager half of Istio's stats filter: at the end of each HTTP stream it
 * charges `istio_requests_total`, `istio_request_duration_milliseconds`, `istio_request_bytes`
 * and `istio_response_bytes` with Istio's standard labels, in the order Istio's filter pushes
 * them (istio/proxy:source/extensions/filters/http/istio_stats/istio_stats.cc, `log()` and
 * `populatePeerInfo()`).
 *
 * Where the label values come from:
 * - reporter: `reporter: SERVER_GATEWAY` → "waypoint"; otherwise the listener direction:
 *   INBOUND → "destination", anything else → "source";
 * - the local side (source_* when reporting as source, destination_* otherwise): node metadata
 *   (istio-metrics.ts `localNodeFrom`);
 * - the peer side: Istio reads it from metadata exchange, which Legate does not do, so it is
 *   "unknown" (canonical revision "latest") exactly as Istio prints a peer it knows nothing about;
 *   except that a client sidecar (reporter "source") reads the destination workload, namespace,
 *   canonical service/revision and cluster from the endpoint's `istio.workload` metadata, as
 *   Istio does when there was no exchange;
 * - destination_service / destination_service_name: the cluster's `istio.services[0]` metadata
 *   (host; name, else host up to the first dot), else — Legate's stand-in for that metadata on
 *   hand-written configs — the host of an Istio cluster name `outbound|port|subset|host`, else
 *   the request's Host (:authority) unless `disable_host_header_fallback`; the routes and
 *   clusters Istio names specially (block_all, allow_any, BlackHoleCluster, PassthroughCluster,
 *   InboundPassthroughCluster*) report those names;
 * - principals: Legate has no mTLS, so "unknown"; connection_security_policy "none" on the
 *   server side and "unknown" on the client side (as Istio without peer certificates).
 *
 * Cost per request: a map lookup for the destination (cluster, and Host only when the cluster
 * does not decide the service), a map lookup by a number made of (response flags, code, gRPC
 * status, protocol), then a counter increment and three histogram records. Label strings are
 * built once per distinct series.
 */
import type { IstioServiceModel, IstioStatsFilterModel, ListenerModel } from '../../snapshot/model';
import { httpToGrpcStatus } from '../../http/grpc';
import { formatResponseFlags } from '../../http/response-flags';
import type { StreamInfo } from '../../http/stream-info';
import type { Histogram } from '../histogram';
import type { Tag } from '../tag-producer';
import { HTTP_METRICS, istioMetrics, type CounterCell, type HttpMetric, type IstioMetrics, type LocalNode } from './istio-metrics';

export type IstioReporter = 'source' | 'destination' | 'waypoint';

const UNKNOWN = 'unknown';
const SPECIAL_CLUSTERS = new Set(['BlackHoleCluster', 'PassthroughCluster', 'InboundPassthroughCluster', 'InboundPassthroughClusterIpv4', 'InboundPassthroughClusterIpv6']);
/** gRPC codes above this are reported as UNKNOWN (Envoy's getGrpcStatus without user-defined codes). */
const MAX_KNOWN_GRPC = 16;

/** One series: the handles of the four metrics (undefined when dropped by config). */
interface Series {
  readonly requests: CounterCell | undefined;
  readonly duration: Histogram | undefined;
  readonly requestBytes: Histogram | undefined;
  readonly responseBytes: Histogram | undefined;
}

/** The destination a stream reported on: its peer-side labels, and its series by outcome. */
interface Destination {
  readonly serviceHost: string;
  readonly serviceName: string;
  /** Labels after `reporter` and before `request_protocol`. */
  readonly peerTags: readonly Tag[];
  readonly series: Map<number, Series>;
  /** The same service reached at an endpoint with `istio.workload` metadata, by that metadata. */
  readonly withPeer: Map<string, Destination>;
}

/** The destinations of one cluster: fixed when the cluster decides the service, else per Host. */
interface ClusterDestinations {
  readonly fixed: Destination | undefined;
  readonly byHost: Map<string, Destination>;
  /** Endpoint address → its `istio.workload` metadata ('' = none), read once per address. */
  readonly workloadByHost: Map<string, string>;
}

/** A peer as istiod encodes it on an endpoint (`convertEndpointMetadata`): app and version are not in it. */
interface EndpointPeer {
  readonly workload: string;
  readonly namespace: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly cluster: string;
}

/** `<workload>;<namespace>;<canonical service>;<canonical revision>;<cluster id>`; fewer than 5 parts = none. */
export function parseEndpointWorkload(encoded: string): EndpointPeer | undefined {
  const p = encoded.split(';');
  if (p.length < 5) return undefined;
  return { workload: p[0]!, namespace: p[1]!, canonicalName: p[2]!, canonicalRevision: p[3]!, cluster: p[4]! };
}

/** What the recorder reads from the live clusters (the ClusterManager): service and endpoint metadata. */
export interface ClusterLookup {
  get(name: string): {
    readonly model: { readonly istioService?: IstioServiceModel | undefined };
    allHosts(): ReadonlyArray<{ readonly key: string; readonly istioWorkload?: string | undefined }>;
  } | undefined;
}

/** Istio's rule: `reporter` set to SERVER_GATEWAY → waypoint; else INBOUND listeners report as destination. */
export function istioReporter(config: IstioStatsFilterModel, direction: ListenerModel['trafficDirection'] | undefined): IstioReporter {
  if (config.reporter === 'SERVER_GATEWAY') return 'waypoint';
  return direction === 'INBOUND' ? 'destination' : 'source';
}

/** Envoy's `Grpc::Common::isGrpcRequestHeaders`: content-type application/grpc, +suffix or ;params. */
function isGrpcContentType(ct: unknown): boolean {
  if (typeof ct !== 'string' || !ct.startsWith('application/grpc')) return false;
  const c = ct.charCodeAt(16);
  return ct.length === 16 || c === 43 /* + */ || c === 59 /* ; */;
}

export class IstioStatsRecorder {
  readonly reporter: IstioReporter;
  private readonly metrics: IstioMetrics;
  private readonly node: LocalNode;
  private readonly byCluster = new Map<string, ClusterDestinations>();
  /** Istio's catch-all routes (block_all, allow_any), by route then Host. */
  private readonly routeDestinations = new Map<string, Map<string, Destination>>();
  private readonly dropped: ReadonlySet<string>;
  private readonly removeAll: ReadonlySet<string>;
  private readonly removeByMetric: ReadonlyMap<string, ReadonlySet<string>>;

  constructor(
    private readonly config: IstioStatsFilterModel,
    direction: ListenerModel['trafficDirection'] | undefined,
    private readonly clusters: ClusterLookup,
    metrics: IstioMetrics = istioMetrics(),
  ) {
    this.metrics = metrics;
    this.node = metrics.localNode();
    this.reporter = istioReporter(config, direction);
    this.dropped = new Set(config.droppedMetrics);
    this.removeAll = new Set(config.tagsToRemove[''] ?? []);
    this.removeByMetric = new Map(Object.entries(config.tagsToRemove).filter(([k]) => k !== '').map(([k, v]) => [k, new Set(v)]));
  }

  /** Called once per completed HTTP stream. */
  record(info: StreamInfo): void {
    const dest = this.destination(info);
    const grpc = isGrpcContentType(info.requestHeaders['content-type']);
    const code = info.responseCode;
    let status = -1;
    if (grpc) {
      if (info.grpcStatus !== undefined) status = info.grpcStatus > MAX_KNOWN_GRPC || info.grpcStatus < 0 ? 2 : info.grpcStatus;
      else if (code !== 0) status = httpToGrpcStatus(code);
    }
    // flags < 2^29, code < 2^10, status + 1 < 2^5, grpc 1 bit: exact in a double.
    const key = ((info.responseFlags * 1024 + (code & 1023)) * 32 + (status + 1)) * 2 + (grpc ? 1 : 0);
    let s = dest.series.get(key);
    if (!s) dest.series.set(key, (s = this.buildSeries(dest, grpc, code, status, info.responseFlags)));
    if (s.requests) s.requests.value++;
    s.duration?.record(info.lastDownstreamTxByteMs >= 0 ? info.lastDownstreamTxByteMs : info.elapsedMs());
    s.requestBytes?.record(info.bytesReceived);
    s.responseBytes?.record(info.bytesSent);
  }

  private destination(info: StreamInfo): Destination {
    const route = info.routeName;
    if (route === 'block_all' || route === 'allow_any') {
      let byHost = this.routeDestinations.get(route);
      if (!byHost) this.routeDestinations.set(route, (byHost = new Map()));
      const host = this.fallbackHost(info);
      let d = byHost.get(host);
      if (!d) byHost.set(host, (d = this.makeDestination(host, route === 'block_all' ? 'BlackHoleCluster' : 'PassthroughCluster')));
      return d;
    }
    const clusterName = info.upstreamClusterName;
    let cd = this.byCluster.get(clusterName);
    if (!cd) this.byCluster.set(clusterName, (cd = this.clusterDestinations(clusterName)));
    let d = cd.fixed;
    if (!d) {
      const host = this.fallbackHost(info);
      d = cd.byHost.get(host);
      if (!d) cd.byHost.set(host, (d = this.makeDestination(host, this.serviceNameOf(clusterName, host))));
    }
    // A client sidecar reads the peer from the endpoint's metadata (Istio's extractEndpointMetadata).
    if (this.reporter !== 'source' || info.upstreamHost === '') return d;
    let workload = cd.workloadByHost.get(info.upstreamHost);
    if (workload === undefined) cd.workloadByHost.set(info.upstreamHost, (workload = this.endpointWorkload(clusterName, info.upstreamHost)));
    if (workload === '') return d;
    let p = d.withPeer.get(workload);
    if (!p) d.withPeer.set(workload, (p = this.makeDestination(d.serviceHost, d.serviceName, parseEndpointWorkload(workload))));
    return p;
  }

  /** The `istio.workload` metadata of the cluster's endpoint at `hostKey` ('' = none; looked up once per address). */
  private endpointWorkload(clusterName: string, hostKey: string): string {
    const cluster = this.clusters.get(clusterName);
    if (!cluster) return '';
    for (const h of cluster.allHosts()) if (h.key === hostKey) return parseEndpointWorkload(h.istioWorkload ?? '') ? h.istioWorkload! : '';
    return '';
  }

  /** The Host header when the fallback is on, else "". */
  private fallbackHost(info: StreamInfo): string {
    if (this.config.disableHostHeaderFallback) return '';
    const a = info.requestHeaders[':authority'];
    return typeof a === 'string' ? a : '';
  }

  /** Without service metadata, a special cluster keeps its own name as service name. */
  private serviceNameOf(clusterName: string, host: string): string {
    return SPECIAL_CLUSTERS.has(clusterName) ? clusterName : host;
  }

  /**
   * Read once per cluster name for the life of this connection manager (a CDS change of a
   * cluster's service metadata shows once the listener's routes or filters next change).
   */
  private clusterDestinations(clusterName: string): ClusterDestinations {
    const byHost = new Map<string, Destination>();
    const workloadByHost = new Map<string, string>();
    if (clusterName === '' || SPECIAL_CLUSTERS.has(clusterName)) return { fixed: undefined, byHost, workloadByHost };
    const svc = this.clusters.get(clusterName)?.model.istioService;
    if (svc?.host !== undefined) {
      const name = svc.name ?? svc.host.slice(0, svc.host.indexOf('.') >= 0 ? svc.host.indexOf('.') : undefined);
      return { fixed: this.makeDestination(svc.host, name), byHost, workloadByHost };
    }
    // Istio's outbound cluster names carry the service host: outbound|<port>|<subset>|<host>.
    const parts = clusterName.split('|');
    if (parts.length === 4 && parts[0] === 'outbound' && parts[3] !== '') {
      const host = parts[3]!;
      const dot = host.indexOf('.');
      return { fixed: this.makeDestination(host, dot >= 0 ? host.slice(0, dot) : host), byHost, workloadByHost };
    }
    return { fixed: undefined, byHost, workloadByHost };
  }

  /** The peer-side labels for a destination service (host, name; "" = not known), and the endpoint's peer if known. */
  private makeDestination(serviceHost: string, serviceName: string, peer?: EndpointPeer): Destination {
    const n = this.node;
    const t = (name: string, value: string): Tag => ({ name, value });
    const or = (v: string | undefined, dflt: string): string => (v ? v : dflt);
    let peerTags: Tag[];
    if (this.reporter === 'source') {
      peerTags = [
        t('source_workload', n.workloadName), t('source_canonical_service', n.canonicalName), t('source_canonical_revision', n.canonicalRevision),
        t('source_workload_namespace', n.namespace), t('source_principal', UNKNOWN), t('source_app', n.app), t('source_version', n.version),
        t('source_cluster', n.clusterId),
        t('destination_workload', or(peer?.workload, UNKNOWN)), t('destination_workload_namespace', or(peer?.namespace, UNKNOWN)), t('destination_principal', UNKNOWN),
        t('destination_app', UNKNOWN), t('destination_version', UNKNOWN), t('destination_service', serviceHost || UNKNOWN),
        t('destination_canonical_service', or(peer?.canonicalName, UNKNOWN)), t('destination_canonical_revision', or(peer?.canonicalRevision, 'latest')),
        t('destination_service_name', serviceName || UNKNOWN), t('destination_service_namespace', or(peer?.namespace, UNKNOWN)),
        t('destination_cluster', or(peer?.cluster, UNKNOWN)),
      ];
    } else {
      const source = [
        t('source_workload', UNKNOWN), t('source_canonical_service', UNKNOWN), t('source_canonical_revision', 'latest'),
        t('source_workload_namespace', UNKNOWN), t('source_principal', UNKNOWN), t('source_app', UNKNOWN), t('source_version', UNKNOWN),
        t('source_cluster', UNKNOWN),
      ];
      const local = this.reporter === 'destination';
      const canonical = local ? n.canonicalName : UNKNOWN;
      peerTags = [
        ...source,
        t('destination_workload', local ? n.workloadName : UNKNOWN), t('destination_workload_namespace', local ? n.namespace : UNKNOWN),
        t('destination_principal', UNKNOWN), t('destination_app', local ? n.app : UNKNOWN), t('destination_version', local ? n.version : UNKNOWN),
        t('destination_service', serviceHost || canonical), t('destination_canonical_service', canonical),
        t('destination_canonical_revision', local ? n.canonicalRevision : UNKNOWN), t('destination_service_name', serviceName || canonical),
        t('destination_service_namespace', n.namespace), t('destination_cluster', n.clusterId),
      ];
    }
    return { serviceHost, serviceName, peerTags, series: new Map(), withPeer: new Map() };
  }

  private buildSeries(dest: Destination, grpc: boolean, code: number, status: number, flags: number): Series {
    const tags: Tag[] = [
      { name: 'reporter', value: this.reporter },
      ...dest.peerTags,
      { name: 'request_protocol', value: grpc ? 'grpc' : 'http' },
      { name: 'response_code', value: String(code) },
      { name: 'grpc_response_status', value: status >= 0 ? String(status) : '' },
      { name: 'response_flags', value: formatResponseFlags(flags) },
      { name: 'connection_security_policy', value: this.reporter === 'source' ? UNKNOWN : 'none' },
    ];
    return {
      requests: this.counter('requests_total', tags),
      duration: this.histogram('request_duration_milliseconds', tags),
      requestBytes: this.histogram('request_bytes', tags),
      responseBytes: this.histogram('response_bytes', tags),
    };
  }

  private tagsFor(metric: HttpMetric, tags: readonly Tag[]): readonly Tag[] {
    const per = this.removeByMetric.get(metric);
    if (this.removeAll.size === 0 && !per) return tags;
    return tags.filter((t) => !this.removeAll.has(t.name) && !per?.has(t.name));
  }

  private counter(metric: HttpMetric, tags: readonly Tag[]): CounterCell | undefined {
    return this.dropped.has(metric) ? undefined : this.metrics.counter(HTTP_METRICS[metric], this.tagsFor(metric, tags));
  }

  private histogram(metric: HttpMetric, tags: readonly Tag[]): Histogram | undefined {
    return this.dropped.has(metric) ? undefined : this.metrics.histogram(HTTP_METRICS[metric], this.tagsFor(metric, tags));
  }
}
