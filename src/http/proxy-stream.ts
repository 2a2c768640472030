/**
 * The router: one downstream request proxied to one upstream host, chosen per
 * request. Bodies stream both ways with backpressure, trailers pass through, and
 * every outcome is mapped to a status and response flag in one place (local-reply).
 *
 * A request body is kept (up to the cluster's buffer limit) until response headers
 * arrive, so a stream the upstream provably never processed (REFUSED_STREAM, above a
 * GOAWAY's last_stream_id) can be replayed on a fresh session.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { eventNow } from '../common/event-clock';
import { ErrorCode } from '../h2/frames';
import type { RouteEntry } from '../router/route-table';
import { overloadManager } from '../overload/overload-manager';
import { pickWeightedCluster } from '../router/route-table';
import type { HeaderMutationsModel, RouteActionModel, WeightedClusterModel } from '../snapshot/model';
import type { Cluster } from '../upstream/cluster';
import { H1Upstream } from '../upstream/h1-upstream';
import type { H2Upstream } from '../upstream/h2-upstream';
import type { Host } from '../upstream/host';
import type { UpstreamFailure, UpstreamHandler, UpstreamRequest } from '../upstream/upstream-request';
import type { HttpConnectionManager } from './connection-manager';
import type { Downstream, DownstreamCloseListener, RequestBody } from './downstream';
import { USE_NODE_HTTP2 } from '../h2/core-choice';
import { FrameUpstream } from '../upstream/frame-upstream';
import type { FilterStream } from './filters/http-filter';
import { parseGrpcTimeout } from './grpc';
import { stripHopByHop } from './headers';
import { sendLocalReply, type LocalReply } from './local-reply';
import { isGrpcContentType } from '../router/matchers';
import { RetryState } from './retry-state';
import { computeRequestHash } from '../router/hash-policy';
import type { PickContext } from '../upstream/picker';
import type { ResponseFlag } from './response-flags';
import { StreamInfo } from './stream-info';
import { clusterStats, type ClusterScope } from '../stats';
import type { ResourceManager } from '../upstream/circuit-breakers';
import { grpcToHttpStatus } from '../upstream/outlier-detector';

const NGHTTP2_CANCEL = ErrorCode.CANCEL;
const NGHTTP2_INTERNAL_ERROR = ErrorCode.INTERNAL_ERROR;
const NGHTTP2_PROTOCOL_ERROR = ErrorCode.PROTOCOL_ERROR;
/** Replays of a provably unprocessed request before giving up. */
const MAX_UNPROCESSED_REPLAYS = 3;
const RESET_BEFORE = 'upstream connect error or disconnect/reset before headers. reset reason: ';
/** Longest a gRPC response is held back waiting for trailers that might be retried. */
const HOLD_MS = 100;
/** Most response bytes held back for a trailers-based retry. */
const HOLD_LIMIT_BYTES = 64 * 1024;
/** No request body kept (shared; frozen so a push onto it fails loudly). */
const NO_CHUNKS: Buffer[] = Object.freeze([]) as unknown as Buffer[];
/** Placeholder until the route is known; frozen so a write before then fails loudly. */
const NO_HEADERS: OutgoingHttpHeaders = Object.freeze({});
/**
 * The ProxyStream a request body belongs to, so the body's listeners and the stream's timers
 * are shared functions instead of closures allocated per request.
 */
const kProxyStream = Symbol('legate.proxyStream');

/** The node:http2 upstream (LEGATE_HTTP2_CORE=node only): loaded when first used, so node:http2 is not. */
let h2UpstreamClass: typeof H2Upstream | undefined;
function nodeH2Upstream(): typeof H2Upstream {
  return (h2UpstreamClass ??= (require('../upstream/h2-upstream') as typeof import('../upstream/h2-upstream')).H2Upstream);
}
type OwnedBody = RequestBody & { [kProxyStream]: ProxyStream };

export class ProxyStream implements UpstreamHandler, FilterStream, DownstreamCloseListener {
  readonly info = new StreamInfo();
  lastActivity = eventNow();
  private readonly grpc: boolean;
  private entry: RouteEntry | undefined;
  private action: RouteActionModel | undefined;
  private weighted: WeightedClusterModel | undefined;
  private cluster: Cluster | undefined;
  /** The cluster's router stats (`upstream_rq_<code>`, `upstream_rq_time`), resolved with the cluster. */
  private clusterScope: ClusterScope | undefined;
  private host: Host | undefined;
  /** The cluster's circuit breakers for the route's priority. */
  private resources: ResourceManager | undefined;
  /** The current attempt holds a max_requests slot. */
  private requestCharged = false;
  /** Neighbours in the connection manager's list of streams in flight. */
  prevActive: ProxyStream | undefined;
  nextActive: ProxyStream | undefined;
  /** The route's idle_timeout, overriding the connection manager's stream_idle_timeout. */
  idleTimeoutOverrideMs: number | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private upstream: UpstreamRequest | undefined;
  private upstreamHeaders: OutgoingHttpHeaders = NO_HEADERS;
  private upstreamReady = false;
  /** The current attempt goes over HTTP/1.1. */
  private upstreamIsH1 = false;
  private upstreamStartMs = 0;
  /**
   * Request body kept for writing once the upstream is ready, and for replay. Shared and empty
   * until the first chunk: most requests (unary calls) keep exactly one.
   */
  private kept: Buffer[] = NO_CHUNKS;
  private keptBytes = 0;
  private replayable = true;
  private downstreamEnded = false;
  private responseStarted = false;
  /** The upstream's response ended with its headers (trailers-only gRPC, 204...). */
  private endedWithHeaders = false;
  private done = false;
  private timer: NodeJS.Timeout | undefined;
  private attempts = 0;
  /** What the cluster's picker sees of this request (the hash for RING_HASH/MAGLEV). */
  private pickContext: PickContext | undefined;
  /** The route's retry policy in action, if it has one. */
  private retry: RetryState | undefined;
  private perTryTimer: NodeJS.Timeout | undefined;
  /** A retry is waiting for its back-off. */
  private retryTimer: NodeJS.Timeout | undefined;
  /**
   * gRPC response held back (headers and the first bytes) until its trailers say whether
   * the route retries it; committed when the buffer fills or after HOLD_MS.
   */
  private held: { headers: IncomingHttpHeaders; chunks: Buffer[]; bytes: number; timer: NodeJS.Timeout } | undefined;

  constructor(private readonly hcm: HttpConnectionManager, private readonly ds: Downstream) {
    const info = this.info;
    info.protocol = ds.protocol;
    info.downstreamLocalAddress = ds.localAddress;
    info.downstreamRemoteAddress = ds.remoteAddress;
    info.requestHeaders = ds.headers;
    this.grpc = isGrpcContentType(ds.headers['content-type'] as string | undefined);
  }

  start(): void {
    const ds = this.ds;
    const hcm = this.hcm;
    hcm.addActive(this);
    hcm.stats.downstream_rq_active++;
    ds.onClose(this);
    const headers = ds.headers;
    if (hcm.model.headersWithUnderscoresAction !== 'ALLOW' && this.rejectsUnderscores(headers)) return;
    if (overloadManager.stopAcceptingRequests) {
      // Envoy sheds before any filter or route runs (ActiveStream::decodeHeaders).
      hcm.stats.downstream_rq_overload_close++;
      this.localReply({ status: 503, body: 'envoy overloaded', flag: 'OM', details: 'overload' });
      return;
    }
    hcm.requestId(headers);
    // HTTP filters ahead of the router; one that stops has taken the stream over.
    const decoders = hcm.filters.decoders;
    for (let i = 0; i < decoders.length; i++) if (decoders[i]!.decodeHeaders!(this) === 'stop') return;
    const path = String(headers[':path'] ?? '/');
    const authority = String(headers[':authority'] ?? '');
    const entry = hcm.routes.match(authority, path, headers);
    if (!entry) {
      hcm.stats.no_route++;
      this.localReply({ status: 404, body: '', flag: 'NR', details: 'route_not_found' });
      return;
    }
    this.entry = entry;
    this.info.routeName = entry.route.name;
    const action = entry.route.action;
    if (action.kind === 'direct_response') {
      this.localReply({ status: action.status, body: action.body ?? '', flag: undefined, details: 'direct_response' });
      return;
    }
    if (action.kind === 'redirect') {
      this.redirect(action.status, action.hostRedirect, action.pathRedirect, action.schemeRedirect);
      return;
    }
    this.action = action;
    let clusterName: string;
    if (entry.weighted) {
      this.weighted = pickWeightedCluster(entry.weighted);
      clusterName = this.weighted.name;
    } else if (action.cluster.kind === 'cluster') {
      clusterName = action.cluster.name;
    } else if (action.cluster.kind === 'header') {
      const v = headers[action.cluster.header];
      clusterName = Array.isArray(v) ? v[0] ?? '' : v ?? '';
    } else {
      clusterName = '';
    }
    const cluster = hcm.clusters.get(clusterName);
    if (!cluster) {
      hcm.stats.no_cluster++;
      this.localReply({ status: action.clusterNotFoundStatus, body: '', flag: 'NC', details: 'cluster_not_found' });
      return;
    }
    this.cluster = cluster;
    this.resources = cluster.resources[action.priority === 'HIGH' ? 1 : 0];
    this.clusterScope = clusterStats().scopeOf(cluster);
    this.info.upstreamClusterName = cluster.model.name;
    this.info.upstreamClusterObservabilityName = cluster.model.observabilityName;
    // The request's hash (route hash_policy) is computed once, from the headers as the client
    // sent them, and reused by retries.
    if (entry.hashPolicy) this.pickContext = { hash: computeRequestHash(entry.hashPolicy, headers, ds.remoteAddress) };
    this.upstreamHeaders = this.finalizeRequestHeaders(headers, entry, action);
    if (action.retryPolicy) this.retry = new RetryState(action.retryPolicy);

    const body = ds.body as OwnedBody;
    body[kProxyStream] = this;
    body.on('data', onBodyData);
    body.on('end', onBodyEnd);
    if (action.idleTimeoutMs !== undefined) this.armRouteIdleTimeout(action.idleTimeoutMs);
    this.attempt();
    if (action.maxStreamDurationMs > 0) this.armTimer(action.maxStreamDurationMs, 'max_stream');
  }

  // === Upstream attempts ===

  private attempt(): void {
    const cluster = this.cluster!;
    const host = this.pickHost(cluster);
    if (!host) {
      cluster.stats.upstream_cx_none_healthy++;
      this.localReply({ status: 503, body: 'no healthy upstream', flag: 'UH', details: 'no_healthy_upstream' });
      return;
    }
    this.host = host;
    if (!this.resources!.tryRequest()) {
      // max_requests circuit breaker: 503 UO, never retried, not charged to the host's outlier detector.
      this.onUpstreamFailure({ kind: 'overflow', message: 'overflow', unprocessed: false });
      return;
    }
    this.requestCharged = true;
    this.attempts++;
    this.info.upstreamRequestAttemptCount = this.attempts;
    this.info.upstreamHost = host.key;
    this.upstreamReady = false;
    if (this.entry!.vhost.includeRequestAttemptCount && !this.hcm.model.suppressEnvoyHeaders) this.upstreamHeaders['x-envoy-attempt-count'] = String(this.attempts);
    cluster.stats.upstream_rq_total++;
    cluster.stats.upstream_rq_active++;
    host.stats.rq_total++;
    host.stats.rq_active++;
    this.upstreamStartMs = eventNow();
    this.retry?.noteTried(host);
    const perTry = this.retry?.policy.perTryTimeoutMs ?? 0;
    if (perTry > 0) {
      if (this.perTryTimer) clearTimeout(this.perTryTimer);
      this.perTryTimer = setTimeout(onPerTryTimer, perTry, this);
    }
    const protocol = cluster.model.protocol === 'downstream' ? (this.ds.protocol === 'HTTP/2' ? 'http2' : 'http1') : cluster.model.protocol;
    this.upstreamIsH1 = protocol !== 'http2';
    const upstream = protocol !== 'http2'
      ? new H1Upstream(host, this.upstreamHeaders, this.requestHasBody(), this)
      : USE_NODE_HTTP2
        ? new (nodeH2Upstream())(host, this.upstreamHeaders, this, this.grpc, this.resources)
        : new FrameUpstream(host, this.upstreamHeaders, this, this.grpc, this.resources);
    this.upstream = upstream;
    upstream.start();
  }

  /**
   * Picks a host; with the previous_hosts retry predicate, re-picks (up to
   * host_selection_retry_max_attempts) to avoid hosts this request already tried.
   */
  private pickHost(cluster: Cluster): Host | undefined {
    const retry = this.retry;
    const ctx = this.pickContext;
    // ORIGINAL_DST: the host is where the downstream connection was going (or the header that names it).
    if (cluster.originalDst) return cluster.originalDst.pick(this.ds.originalDst, this.ds.headers);
    let host = cluster.pick(ctx);
    if (!retry || !retry.policy.previousHosts || retry.triedCount === 0) return host;
    for (let i = 0; i < retry.policy.hostSelectionRetryMaxAttempts && host && retry.hasTried(host); i++) host = cluster.pick(ctx);
    return host;
  }

  onUpstreamReady(localAddress: string): void {
    if (this.done) return;
    this.upstreamReady = true;
    this.info.upstreamLocalAddress = localAddress;
    this.host?.outlier?.putResult('connect_success');
    const up = this.upstream!;
    let ok = true;
    for (const c of this.kept) ok = up.write(c) && ok;
    if (!this.replayable) {
      this.kept = NO_CHUNKS;
      this.keptBytes = 0;
    }
    if (this.downstreamEnded) up.end();
    else if (!ok) this.waitUpstreamDrain();
    else this.ds.body.resume();
  }

  onUpstreamHeaders(headers: IncomingHttpHeaders, endStream: boolean): void {
    if (this.done) return;
    const info = this.info;
    info.firstUpstreamRxByteMs = info.elapsedMs();
    this.lastActivity = eventNow();
    this.clearPerTryTimer();
    // An Envoy upstream failing its health checks says so on every response: fail it now (passive).
    if (headers['x-envoy-immediate-health-check-fail'] !== undefined && this.host) this.cluster?.healthChecker?.immediateFailure(this.host);
    const om = this.host?.outlier;
    if (om) {
      // Envoy's router: a gRPC status in the response headers (trailers-only) is charged as its HTTP equivalent.
      const hs = this.grpc ? headers['grpc-status'] : undefined;
      om.putHttpResponseCode(hs !== undefined ? grpcToHttpStatus(Number(hs)) : Number(headers[':status']));
    }
    const retry = this.retry;
    if (retry && this.replayable && !this.responseStarted) {
      const gs = endStream && headers['grpc-status'] !== undefined ? Number(headers['grpc-status']) : undefined;
      if (retry.retriesResponse(Number(headers[':status']), gs)) {
        if (this.tryRetry()) return;
        // Retriable, but no retry left (URX) or the retry circuit breaker is open (UO): the response goes to the client as it is.
        this.flagRetryDenied();
      } else if (!endStream && this.grpc && retry.retriesGrpc && retry.remaining > 0) {
        this.hold(headers);
        return;
      }
    }
    this.commitHeaders(headers, endStream);
  }

  /** Sends response headers downstream: from here on the request is never sent again. */
  private commitHeaders(headers: IncomingHttpHeaders, endStream: boolean): void {
    const info = this.info;
    // The upstream answered: the request can no longer be replayed; free the copy.
    this.replayable = false;
    this.kept = NO_CHUNKS;
    this.keptBytes = 0;
    this.responseStarted = true;
    this.endedWithHeaders = endStream;
    // The response's header object is this request's own: edited in place, as Envoy's router
    // edits its response header map (access logs see the headers as sent).
    const out: OutgoingHttpHeaders = headers;
    // HTTP/2 responses cannot carry connection-specific fields (the codecs reset such streams);
    // an HTTP/1.1 response's are dropped by H1Upstream except `te`, checked here.
    if (this.upstreamIsH1) stripHopByHop(out);
    if (!this.hcm.model.suppressEnvoyHeaders) out['x-envoy-upstream-service-time'] = String(Math.round(eventNow() - this.upstreamStartMs));
    const hcm = this.hcm.model;
    if (hcm.serverHeaderTransformation === 'OVERWRITE' || (hcm.serverHeaderTransformation === 'APPEND_IF_ABSENT' && out['server'] === undefined)) {
      out['server'] = hcm.serverName;
    }
    this.applyResponseMutations(out);
    info.responseCode = Number(out[':status']);
    this.clusterScope!.chargeCode(Number(headers[':status']));
    if (this.attempts > 1) this.clusterScope!.retrySuccess++;
    info.responseCodeDetails = 'via_upstream';
    info.responseHeaders = out;
    const gs = out['grpc-status'];
    if (endStream && gs !== undefined) info.grpcStatus = Number(gs);
    const expectTrailers = !endStream && (this.grpc || this.ds.headers['te'] === 'trailers');
    if (this.hcm.filters.encoders.length) this.encodeHeaders(out);
    this.ds.respond(out, endStream, expectTrailers);
  }

  // === Holding a gRPC response for a trailers-based retry ===

  private hold(headers: IncomingHttpHeaders): void {
    this.held = { headers, chunks: [], bytes: 0, timer: setTimeout(onHoldTimer, HOLD_MS, this) };
  }

  /** Gives up holding: what was held goes downstream and the response streams on. */
  commitHeld(): void {
    const h = this.held;
    if (!h || this.done) return;
    clearTimeout(h.timer);
    this.held = undefined;
    this.commitHeaders(h.headers, false);
    for (const c of h.chunks) this.forwardData(c);
  }

  private dropHeld(): void {
    if (!this.held) return;
    clearTimeout(this.held.timer);
    this.held = undefined;
  }

  // === Retries ===

  /** Why the last retry was refused: Envoy flags a retry limit URX and an open retry circuit breaker UO. */
  private retryDenied: 'URX' | 'UO' | undefined;

  private flagRetryDenied(): void {
    if (this.retryDenied) this.info.setFlag(this.retryDenied);
  }

  /**
   * Abandons the current attempt and schedules another after the back-off, if the policy
   * has a retry left, the request body is still held, and the cluster's max_retries allows.
   */
  private tryRetry(): boolean {
    const retry = this.retry;
    const scope = this.clusterScope!;
    if (!retry || this.done || this.ds.closed || !this.replayable || this.responseStarted) return false;
    const retries = this.resources!.retries;
    if (!retries.canCreate()) {
      scope.retryOverflow++;
      this.retryDenied = 'UO';
      return false;
    }
    if (!retry.consume()) {
      scope.retryLimitExceeded++;
      this.retryDenied = 'URX';
      return false;
    }
    scope.retry++;
    scope.activeRetries++;
    retries.count++;
    this.dropHeld();
    this.clearPerTryTimer();
    if (this.upstream) {
      this.upstream.cancel();
      this.releaseUpstream(false);
    }
    this.retryTimer = setTimeout(onRetryTimer, retry.backOffMs(), this);
    return true;
  }

  onRetryBackOff(): void {
    this.retryTimer = undefined;
    this.clusterScope!.activeRetries--;
    this.resources!.retries.count--;
    if (!this.done) this.attempt();
  }

  onPerTryTimeout(): void {
    this.perTryTimer = undefined;
    if (this.done || this.responseStarted || this.held) return;
    this.clusterScope!.perTryTimeout++;
    if (this.host) this.host.stats.rq_timeout++;
    this.host?.outlier?.putResult('timeout');
    if (this.retry?.retriesTimeout() && this.tryRetry()) return;
    this.upstream?.cancel();
    this.releaseUpstream(false);
    this.localReply({ status: 504, body: 'upstream request timeout', flag: 'UT', details: 'upstream_per_try_timeout' });
  }

  private clearPerTryTimer(): void {
    if (this.perTryTimer) {
      clearTimeout(this.perTryTimer);
      this.perTryTimer = undefined;
    }
  }

  onUpstreamData(chunk: Buffer): void {
    if (this.done) return;
    this.lastActivity = eventNow();
    const h = this.held;
    if (h) {
      h.chunks.push(chunk);
      h.bytes += chunk.length;
      if (h.bytes > HOLD_LIMIT_BYTES) this.commitHeld();
      return;
    }
    this.forwardData(chunk);
  }

  private forwardData(chunk: Buffer): void {
    this.info.bytesSent += chunk.length;
    if (!this.ds.write(chunk)) {
      this.upstream!.pause();
      // Only under backpressure: a closure here costs nothing on the common path.
      this.ds.onDrain(() => this.onDownstreamDrain());
    }
  }

  onUpstreamTrailers(trailers: IncomingHttpHeaders): void {
    if (this.done) return;
    const gs = trailers['grpc-status'];
    if (this.held && gs !== undefined && this.retry!.retriesGrpcStatus(Number(gs))) {
      if (this.tryRetry()) return;
      this.flagRetryDenied();
    }
    this.commitHeld();
    this.info.responseTrailers = trailers;
    if (gs !== undefined) this.info.grpcStatus = Number(gs);
  }

  onUpstreamEnd(): void {
    if (this.done) return;
    this.commitHeld();
    if (!this.responseStarted) {
      this.onUpstreamFailure({ kind: 'protocol_error', message: 'response ended without headers', unprocessed: false });
      return;
    }
    this.releaseUpstream(true);
    this.clusterScope!.upstreamRqTime.record(eventNow() - this.upstreamStartMs);
    const trailers = this.info.responseTrailers;
    let out: OutgoingHttpHeaders | undefined;
    if (trailers) {
      // Forwarded as received unless they carry pseudo-headers, which trailers may not (no copy per call).
      out = trailers;
      for (const k in trailers) {
        if (k.charCodeAt(0) !== 58) continue;
        out = {};
        for (const j in trailers) if (j.charCodeAt(0) !== 58) out[j] = trailers[j];
        break;
      }
    }
    if (!this.endedWithHeaders) this.ds.end(out);
    this.finish();
  }

  onUpstreamFailure(f: UpstreamFailure): void {
    if (this.done) return;
    this.releaseUpstream(false);
    const cluster = this.cluster!;
    if (f.kind === 'remote_reset' || f.kind === 'connection_termination') cluster.stats.upstream_rq_rx_reset++;
    // Envoy charges every upstream reset but a circuit-breaker overflow as a local-origin connect failure.
    if (f.kind !== 'overflow' && f.kind !== 'local_reset') this.host?.outlier?.putResult('connect_failed');
    if (f.unprocessed && f.kind !== 'connection_failure' && f.kind !== 'overflow' && this.replayable && !this.responseStarted && this.attempts <= MAX_UNPROCESSED_REPLAYS && !this.ds.closed) {
      // Never processed by the peer (e.g. above a GOAWAY's last_stream_id): replay.
      this.attempt();
      return;
    }
    this.clearPerTryTimer();
    // The upstream had started answering (we held its response for a trailers-based retry):
    // the request was processed, so it is not retried. The client sees what Envoy would show
    // it: the response so far, then a reset.
    if (this.held) this.commitHeld();
    if (!this.responseStarted && this.retry?.retriesFailure(f, this.upstreamReady)) {
      if (this.tryRetry()) return;
      this.flagRetryDenied();
    }
    this.info.upstreamTransportFailureReason = f.kind === 'connection_failure' ? f.message : '';
    // Envoy charges the router's 503 for an upstream that failed before answering (chargeUpstreamAbort).
    if (!this.responseStarted) this.clusterScope!.chargeCode(503);
    if (this.responseStarted) {
      this.info.setFlag(f.kind === 'connection_termination' ? 'UC' : 'UR');
      this.info.responseCodeDetails = `upstream_reset_after_response_started{${f.kind}}`;
      this.ds.reset(NGHTTP2_INTERNAL_ERROR);
      this.finish();
      return;
    }
    switch (f.kind) {
      case 'connection_failure':
        this.localReply({ status: 503, body: `${RESET_BEFORE}connection failure, transport failure reason: ${f.message}`, flag: 'UF', details: `upstream_reset_before_response_started{connection_failure,${f.message.replace(/ /g, '_')}}` });
        return;
      case 'overflow':
        this.localReply({ status: 503, body: `${RESET_BEFORE}overflow`, flag: 'UO', details: 'upstream_reset_before_response_started{overflow}' });
        return;
      case 'connection_termination':
        this.localReply({ status: 503, body: `${RESET_BEFORE}connection termination`, flag: 'UC', details: 'upstream_reset_before_response_started{connection_termination}' });
        return;
      case 'protocol_error':
        this.localReply({ status: 503, body: `${RESET_BEFORE}protocol error`, flag: 'UPE', details: 'upstream_reset_before_response_started{protocol_error}' });
        return;
      default:
        this.localReply({ status: 503, body: `${RESET_BEFORE}remote reset`, flag: 'UR', details: 'upstream_reset_before_response_started{remote_reset}' });
    }
  }

  // === Downstream events ===

  onDownstreamData(chunk: Buffer): void {
    this.info.bytesReceived += chunk.length;
    this.lastActivity = eventNow();
    if (this.replayable) {
      this.keep(chunk);
      this.keptBytes += chunk.length;
      if (this.keptBytes > this.cluster!.model.perConnectionBufferLimitBytes) {
        if (this.upstreamReady) {
          // Too big to keep for replay; it is already on the wire.
          this.replayable = false;
          this.kept = NO_CHUNKS;
          this.keptBytes = 0;
        } else {
          // Upstream not ready and the buffer is full: stop reading until it is.
          this.ds.body.pause();
        }
      }
    }
    if (this.upstreamReady) {
      if (!this.upstream!.write(chunk)) this.waitUpstreamDrain();
    } else if (!this.replayable) {
      this.keep(chunk);
      this.ds.body.pause();
    }
  }

  onDownstreamEnd(): void {
    if (this.ds.bodyMatchesContentLength?.() === false) {
      // A body that contradicts its content-length is malformed (RFC 9113 §8.1.1): reset, never complete upstream.
      this.ds.reset(NGHTTP2_PROTOCOL_ERROR);
      return;
    }
    this.downstreamEnded = true;
    this.info.lastDownstreamRxByteMs = this.info.elapsedMs();
    if (this.upstreamReady) this.upstream!.end();
    this.armRouteTimeout();
  }

  private keep(chunk: Buffer): void {
    if (this.kept.length === 0) this.kept = [chunk];
    else this.kept.push(chunk);
  }

  private waitUpstreamDrain(): void {
    this.ds.body.pause();
    // Only under backpressure: a closure here costs nothing on the common path.
    this.upstream!.onDrain(() => this.onUpstreamDrain());
  }

  private onUpstreamDrain(): void {
    if (!this.done) this.ds.body.resume();
  }

  private onDownstreamDrain(): void {
    if (!this.done) this.upstream?.resume();
  }

  onDownstreamClose(remoteReset: boolean, connectionGone: boolean): void {
    if (this.done) return;
    // The client went away before we finished: cancel upstream (RST_STREAM CANCEL).
    if (remoteReset) {
      this.info.setFlag(connectionGone ? 'DC' : 'DR');
      this.hcm.stats.downstream_rq_rx_reset++;
      if (!this.info.responseCodeDetails || this.info.responseCodeDetails === 'via_upstream') this.info.responseCodeDetails = 'downstream_remote_disconnect';
      if (!this.ds.headersSent) this.info.responseCode = 0;
    }
    if (this.upstream) {
      this.upstream.cancel();
      this.cluster!.stats.upstream_rq_tx_reset++;
      this.releaseUpstream(false);
    }
    this.finish();
  }

  // === Timeouts ===

  private armRouteTimeout(): void {
    const action = this.action;
    if (!action || this.done) return;
    let timeout = action.timeoutMs;
    if (action.grpcTimeoutHeaderMaxMs !== undefined) {
      const g = parseGrpcTimeout(this.ds.headers['grpc-timeout'] as string | undefined);
      if (g !== undefined) {
        timeout = action.grpcTimeoutHeaderMaxMs > 0 ? Math.min(g, action.grpcTimeoutHeaderMaxMs) : g;
        if (action.grpcTimeoutHeaderOffsetMs > 0 && timeout > action.grpcTimeoutHeaderOffsetMs) timeout -= action.grpcTimeoutHeaderOffsetMs;
      }
    }
    if (timeout > 0) this.armTimer(timeout, 'route');
  }

  private armTimer(ms: number, kind: 'route' | 'max_stream'): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(kind === 'route' ? onRouteTimer : onMaxStreamTimer, ms, this);
  }

  onRouteTimeout(): void {
    if (this.done) return;
    this.cluster!.stats.upstream_rq_timeout++;
    if (this.host) this.host.stats.rq_timeout++;
    if (this.upstream) this.host?.outlier?.putResult('timeout');
    if (this.host && !this.responseStarted) this.clusterScope!.chargeCode(504);
    this.endOnTimer({ status: 504, body: 'upstream request timeout', flag: 'UT', details: 'upstream_response_timeout' });
  }

  onMaxStreamDuration(): void {
    if (this.done) return;
    this.endOnTimer({ status: 408, body: 'upstream max stream duration reached', flag: 'UMSDR', details: 'upstream_max_stream_duration_reached', grpcStatus: 4 });
  }

  /** Called by the connection manager's sweep when no bytes moved for stream_idle_timeout. */
  onIdleTimeout(): void {
    if (this.done) return;
    this.hcm.stats.downstream_rq_idle_timeout++;
    this.endOnTimer({ status: 408, body: 'stream timeout', flag: 'SI', details: 'stream_idle_timeout', grpcStatus: 4 });
  }

  /**
   * A timer ended the stream: abandon the upstream, then answer locally, or, once the
   * response has started, record the flag and reset the downstream stream.
   */
  private endOnTimer(reply: LocalReply & { readonly flag: ResponseFlag }): void {
    this.upstream?.cancel();
    this.releaseUpstream(false);
    if (!this.responseStarted) {
      this.localReply(reply);
      return;
    }
    this.info.setFlag(reply.flag);
    this.info.responseCodeDetails = reply.details;
    this.ds.reset(NGHTTP2_CANCEL);
    this.finish();
  }

  // === HTTP filters (FilterStream) ===

  get requestHeaders(): IncomingHttpHeaders {
    return this.ds.headers;
  }

  onRequestComplete(cb: () => void): void {
    const body = this.ds.body;
    if (body.readableEnded) {
      cb();
      return;
    }
    // The filter answers without the body (Envoy's StopIterationNoBuffer): read and drop it.
    body.once('end', () => { if (!this.done) cb(); });
    body.resume();
  }

  sendLocalReply(reply: LocalReply, headers?: OutgoingHttpHeaders): void {
    this.localReply(reply, headers);
  }

  /** The filters' encodeHeaders, in reverse config order. */
  private encodeHeaders(headers: OutgoingHttpHeaders): void {
    const encoders = this.hcm.filters.encoders;
    for (let i = 0; i < encoders.length; i++) encoders[i]!.encodeHeaders!(this, headers);
  }

  // === Helpers ===

  private localReply(r: LocalReply, added?: OutgoingHttpHeaders): void {
    if (this.done) return;
    if (this.upstream) {
      this.upstream.cancel();
      this.releaseUpstream(false);
    }
    const encode = added || this.hcm.filters.encoders.length
      ? (h: OutgoingHttpHeaders): void => {
        if (added) Object.assign(h, added);
        this.encodeHeaders(h);
      }
      : undefined;
    sendLocalReply(this.ds, this.info, r, this.grpc, this.hcm.model.serverName, encode);
    // Stop reading a body nobody will receive.
    this.ds.body.resume();
    this.finish();
  }

  /**
   * headers_with_underscores_action: REJECT_REQUEST answers 400 (Envoy's codecs reject the
   * request), DROP_HEADER removes such headers before anything else sees them.
   */
  private rejectsUnderscores(headers: IncomingHttpHeaders): boolean {
    for (const name in headers) {
      if (name.indexOf('_') < 0 || name.charCodeAt(0) === 58) continue;
      if (this.hcm.model.headersWithUnderscoresAction === 'DROP_HEADER') {
        delete headers[name];
        continue;
      }
      const codec = this.ds.protocol === 'HTTP/2' ? 'http2' : 'http1';
      this.localReply({ status: 400, body: `header name with underscore: ${name}`, flag: 'DPE', details: `${codec}.unexpected_underscore` });
      return true;
    }
    return false;
  }

  private redirect(status: number, host: string | undefined, path: string | undefined, scheme: string | undefined): void {
    const h = this.ds.headers;
    const location = `${scheme ?? h[':scheme'] ?? 'http'}://${host ?? h[':authority']}${path ?? h[':path']}`;
    const headers: OutgoingHttpHeaders = { ':status': status, location, server: this.hcm.model.serverName };
    if (this.hcm.filters.encoders.length) this.encodeHeaders(headers);
    this.info.responseCode = status;
    this.info.responseCodeDetails = 'direct_response';
    this.info.responseHeaders = headers;
    this.ds.respond(headers, true, false);
    this.ds.body.resume();
    this.finish();
  }

  private releaseUpstream(success: boolean): void {
    const host = this.host;
    this.releaseRequestSlot();
    if (!host || !this.upstream) return;
    host.stats.rq_active--;
    this.cluster!.stats.upstream_rq_active--;
    this.cluster!.stats.upstream_rq_completed++;
    if (success) host.stats.rq_success++;
    else host.stats.rq_error++;
    this.upstream = undefined;
  }

  private releaseRequestSlot(): void {
    if (!this.requestCharged) return;
    this.requestCharged = false;
    this.resources!.requests.count--;
  }

  // === Route idle_timeout ===

  /**
   * The route's idle_timeout replaces the connection manager's stream_idle_timeout for this
   * stream (0 disables it): checked by a timer of its own, re-armed from the last activity.
   */
  private armRouteIdleTimeout(ms: number): void {
    this.idleTimeoutOverrideMs = ms;
    if (ms <= 0) return;
    const check = (): void => {
      this.idleTimer = undefined;
      if (this.done) return;
      const idle = eventNow() - this.lastActivity;
      if (idle >= ms) this.onIdleTimeout();
      else this.idleTimer = setTimeout(check, ms - idle);
    };
    this.idleTimer = setTimeout(check, ms);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.clearPerTryTimer();
    this.dropHeld();
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.clusterScope!.activeRetries--;
      this.resources!.retries.count--;
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.releaseRequestSlot();
    const info = this.info;
    info.lastDownstreamTxByteMs = info.elapsedMs();
    this.hcm.removeActive(this);
    this.hcm.stats.downstream_rq_active--;
    this.hcm.completed(info);
  }

  private requestHasBody(): boolean {
    const h = this.ds.headers;
    if (this.downstreamEnded && this.kept.length === 0) return false;
    const cl = h['content-length'];
    if (cl !== undefined) return cl !== '0';
    const m = h[':method'];
    return !(m === 'GET' || m === 'HEAD' || m === 'OPTIONS' || m === 'DELETE') || h['transfer-encoding'] !== undefined;
  }

  /**
   * The upstream request's headers: the downstream request's own header object, edited in place
   * as Envoy's router finalizes the request header map (so %REQ()% in access logs shows what
   * went upstream, x-envoy-original-path included, as in Envoy).
   */
  private finalizeRequestHeaders(h: IncomingHttpHeaders, entry: RouteEntry, action: RouteActionModel): OutgoingHttpHeaders {
    const out: OutgoingHttpHeaders = h;
    // Likewise for requests: only an HTTP/1.1 request can still hold a hop-by-hop `te`.
    if (this.ds.protocol !== 'HTTP/2') stripHopByHop(out);
    if (out[':scheme'] === undefined) out[':scheme'] = 'http';
    const hcm = this.hcm.model;
    if (out['x-forwarded-proto'] === undefined) out['x-forwarded-proto'] = String(h[':scheme'] ?? 'http');
    if (hcm.useRemoteAddress && !hcm.skipXffAppend) {
      const ip = stripPortOf(this.ds.remoteAddress);
      const xff = out['x-forwarded-for'];
      out['x-forwarded-for'] = xff ? `${String(xff)},${ip}` : ip;
    }
    if (action.prefixRewrite !== undefined && entry.route.match.path.kind === 'prefix') {
      const path = String(out[':path']);
      out['x-envoy-original-path'] = path;
      out[':path'] = action.prefixRewrite + path.slice(entry.route.match.path.value.length);
    }
    if (entry.regexRewrite !== undefined) {
      const path = String(out[':path']);
      const q = path.indexOf('?');
      const rw = entry.regexRewrite!;
      out['x-envoy-original-path'] = path;
      out[':path'] = (q >= 0 ? path.slice(0, q) : path).replace(rw.regex, rw.replacement) + (q >= 0 ? path.slice(q) : '');
    }
    if (action.hostRewriteLiteral !== undefined) out[':authority'] = action.hostRewriteLiteral;
    // Envoy tells the upstream how long the router will wait for it.
    if (action.timeoutMs > 0 && !hcm.suppressEnvoyHeaders) out['x-envoy-expected-rq-timeout-ms'] = String(action.timeoutMs);
    // Innermost wins: weighted cluster, then route, then virtual host, then route configuration.
    const rc = this.hcm.routeConfig;
    applyMutations(out, rc.requestHeaders);
    applyMutations(out, entry.vhost.requestHeaders);
    applyMutations(out, entry.route.requestHeaders);
    if (this.weighted) applyMutations(out, this.weighted.requestHeaders);
    return out;
  }

  private applyResponseMutations(out: OutgoingHttpHeaders): void {
    const entry = this.entry!;
    if (this.weighted) applyMutations(out, this.weighted.responseHeaders);
    applyMutations(out, entry.route.responseHeaders);
    applyMutations(out, entry.vhost.responseHeaders);
    applyMutations(out, this.hcm.routeConfig.responseHeaders);
  }
}

// Shared listeners and timer callbacks: the ProxyStream comes from the body or the timer's argument.
function onBodyData(this: OwnedBody, chunk: Buffer): void {
  this[kProxyStream].onDownstreamData(chunk);
}
function onBodyEnd(this: OwnedBody): void {
  this[kProxyStream].onDownstreamEnd();
}
function onPerTryTimer(ps: ProxyStream): void {
  ps.onPerTryTimeout();
}
function onRetryTimer(ps: ProxyStream): void {
  ps.onRetryBackOff();
}
function onHoldTimer(ps: ProxyStream): void {
  ps.commitHeld();
}
function onRouteTimer(ps: ProxyStream): void {
  ps.onRouteTimeout();
}
function onMaxStreamTimer(ps: ProxyStream): void {
  ps.onMaxStreamDuration();
}

function applyMutations(h: OutgoingHttpHeaders, m: HeaderMutationsModel): void {
  for (const name of m.remove) delete h[name];
  for (const a of m.add) {
    const cur = h[a.key];
    switch (a.action) {
      case 'append':
        h[a.key] = cur === undefined ? a.value : Array.isArray(cur) ? [...cur.map(String), a.value] : [String(cur), a.value];
        break;
      case 'add_if_absent':
        if (cur === undefined) h[a.key] = a.value;
        break;
      case 'overwrite':
        h[a.key] = a.value;
        break;
      case 'overwrite_if_exists':
        if (cur !== undefined) h[a.key] = a.value;
    }
  }
}

function stripPortOf(a: string): string {
  if (a.startsWith('[')) return a.slice(1, a.indexOf(']'));
  const c = a.lastIndexOf(':');
  return c > 0 && a.indexOf(':') === c ? a.slice(0, c) : a;
}
