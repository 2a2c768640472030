/**
 * One `StreamAggregatedResources` stream: state-of-the-world xDS as Envoy's
 * protocol describes it (api/xds_protocol.rst; ENVOY-COMPAT.md §8.3) and as
 * istiod answers it (`ShouldRespond` in istio/istio:pilot/pkg/xds/ads.go).
 *
 * Per type URL the stream remembers the subscription (names, or wildcard), the
 * last nonce sent and what that response contained.
 *  - A request without a nonce (first one, or after a reconnect) is answered,
 *    even when there is nothing to send (an empty LDS/CDS set means "none").
 *  - A request whose nonce is not the last one sent is stale: recorded, ignored.
 *  - An ACK or NACK (the last nonce) is answered only when the client now lacks
 *    something: a newly subscribed name that exists, or a change since.
 *  - Wildcard types (LDS, CDS) always get the complete set at the newest version;
 *    named subscriptions get the requested names that exist, and are pushed only
 *    when one of those is added or changed (RDS/EDS removals have no SotW signal).
 */
import { AdsStream, errorDetailOf, type StreamHost } from './ads-stream';
import type { DiscoveryRequestMessage, DiscoveryResponseMessage } from './ads-codec';
import type { StoredResource } from './resource-store';

interface SotwSub {
  /** Explicitly subscribed names (without '*'). */
  names: Set<string>;
  wildcard: boolean;
  /** Nonce of the last response sent; undefined before the first. */
  lastNonce: string | undefined;
  /** Type version of the last response sent. */
  sentVersion: string | undefined;
  /** Name → per-resource version of what the last response carried. */
  sent: Map<string, string>;
  /** Answer the next flush even if nothing changed (a first request). */
  force: boolean;
}

/** Server side of one SotW ADS stream. */
export class SotwStream extends AdsStream<SotwSub> {
  constructor(
    id: number,
    host: StreamHost,
    private readonly write: (response: DiscoveryResponseMessage) => void,
  ) {
    super(id, host);
  }

  /** Handle one `DiscoveryRequest` (normalized). */
  onRequest(req: DiscoveryRequestMessage): void {
    const typeUrl = req.type_url ?? '';
    const nonce = req.response_nonce ?? '';
    const requested = req.resource_names ?? [];
    let sub = this.subs.get(typeUrl);
    // A nonce on a type this stream never answered is a client carrying state over
    // a reconnect: istiod treats it as a first request, and so do we.
    const initial = sub === undefined || nonce === '' || sub.lastNonce === undefined;
    const stale = !initial && nonce !== sub!.lastNonce;
    const errorDetail = errorDetailOf(req.error_detail);
    this.host.received({
      stream: this.id,
      kind: 'sotw',
      typeUrl,
      versionInfo: req.version_info ?? '',
      responseNonce: nonce,
      resourceNames: [...requested],
      ...(errorDetail !== undefined ? { errorDetail } : {}),
      ...(req.node !== undefined ? { node: req.node } : {}),
      stale,
      receivedAt: Date.now(),
    });
    if (stale || typeUrl === '') return;

    const names = new Set(requested);
    const star = names.delete('*');
    // Legacy wildcard: an empty first request for LDS/CDS, kept while the list stays empty.
    const wildcard = star || (this.host.isWildcardType(typeUrl) && names.size === 0 && (sub === undefined || sub.wildcard));
    if (sub === undefined) {
      sub = { names, wildcard, lastNonce: undefined, sentVersion: undefined, sent: new Map(), force: false };
      this.subs.set(typeUrl, sub);
    } else {
      sub.names = names;
      sub.wildcard = wildcard;
    }
    if (initial) sub.force = true;
    this.schedule(typeUrl);
  }

  protected respond(typeUrl: string, sub: SotwSub): void {
    if (!sub.wildcard && sub.names.size === 0) {
      sub.force = false; // no interest: nothing to answer
      return;
    }
    const snapshot = this.host.store.snapshot(typeUrl);
    const chosen: StoredResource[] = sub.wildcard
      ? [...snapshot.resources.values()]
      : [...sub.names].flatMap((name) => snapshot.resources.get(name) ?? []);
    const due = sub.wildcard
      ? sub.sentVersion !== snapshot.version
      : chosen.some((r) => sub.sent.get(r.name) !== r.version);
    if (!sub.force && !due) return;
    sub.force = false;

    const nonce = this.host.nextNonce();
    this.write({
      version_info: snapshot.version,
      resources: chosen.map((r) => r.any),
      type_url: typeUrl,
      nonce,
      control_plane: { identifier: this.host.controlPlaneId },
    });
    sub.lastNonce = nonce;
    sub.sentVersion = snapshot.version;
    sub.sent = new Map(chosen.map((r) => [r.name, r.version]));
    this.host.sent({
      stream: this.id,
      kind: 'sotw',
      typeUrl,
      version: snapshot.version,
      nonce,
      resourceNames: chosen.map((r) => r.name),
      sentAt: Date.now(),
    });
  }
}
