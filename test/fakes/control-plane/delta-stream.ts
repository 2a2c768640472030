/**
 * One `DeltaAggregatedResources` stream: incremental xDS (api/xds_protocol.rst
 * "Incremental xDS"; ENVOY-COMPAT.md §8.4).
 *
 * Per type URL the stream tracks the subscription (explicit names, and wildcard
 * for LDS/CDS when the first request subscribes to nothing, or to `*`) and what
 * the client is known to hold: name → version, seeded from
 * `initial_resource_versions` on the first request. Every flush sends the
 * difference: resources whose version the client lacks, and `removed_resources`
 * for names it holds that are gone. With `deltaMissing: 'removed'` (the default,
 * as istiod does) an explicitly subscribed name that does not exist is also
 * listed in `removed_resources`, once. The first request of a type is always
 * answered, even with an empty response. ACKs and NACKs change nothing: the
 * client keeps what it accepted, and the server has already moved on.
 */
import { AdsStream, errorDetailOf, type StreamHost } from './ads-stream';
import type { DeltaDiscoveryRequestMessage, DeltaDiscoveryResponseMessage } from './ads-codec';
import type { StoredResource } from './resource-store';

interface DeltaSub {
  wildcard: boolean;
  /** Explicit subscriptions (without '*'). */
  names: Set<string>;
  /** What the client holds: version, or null once told the name is removed/missing. */
  known: Map<string, string | null>;
  /** Answer the next flush even if there is no difference (a first request). */
  force: boolean;
}

/** Server side of one delta ADS stream. */
export class DeltaStream extends AdsStream<DeltaSub> {
  constructor(
    id: number,
    host: StreamHost,
    private readonly write: (response: DeltaDiscoveryResponseMessage) => void,
  ) {
    super(id, host);
  }

  /** Handle one `DeltaDiscoveryRequest` (normalized). */
  onRequest(req: DeltaDiscoveryRequestMessage): void {
    const typeUrl = req.type_url ?? '';
    const subscribe = req.resource_names_subscribe ?? [];
    const unsubscribe = req.resource_names_unsubscribe ?? [];
    let sub = this.subs.get(typeUrl);
    if (sub === undefined && typeUrl !== '') {
      sub = {
        wildcard: subscribe.includes('*') || (this.host.isWildcardType(typeUrl) && subscribe.length === 0),
        names: new Set(),
        known: new Map(Object.entries(req.initial_resource_versions ?? {})),
        force: true,
      };
      this.subs.set(typeUrl, sub);
    } else if (sub !== undefined && subscribe.includes('*')) {
      sub.wildcard = true;
    }
    if (sub !== undefined) {
      if (unsubscribe.includes('*')) sub.wildcard = false;
      for (const name of subscribe) if (name !== '*') sub.names.add(name);
      for (const name of unsubscribe) {
        sub.names.delete(name);
        // The client drops what it unsubscribed from; a later subscribe must resend it.
        if (!sub.wildcard) sub.known.delete(name);
      }
    }
    const errorDetail = errorDetailOf(req.error_detail);
    const initial = req.initial_resource_versions;
    this.host.received({
      stream: this.id,
      kind: 'delta',
      typeUrl,
      versionInfo: '',
      responseNonce: req.response_nonce ?? '',
      resourceNames: sub === undefined ? [] : [...(sub.wildcard ? ['*'] : []), ...sub.names],
      ...(errorDetail !== undefined ? { errorDetail } : {}),
      ...(req.node !== undefined ? { node: req.node } : {}),
      subscribe: [...subscribe],
      unsubscribe: [...unsubscribe],
      ...(initial !== undefined && Object.keys(initial).length > 0 ? { initialResourceVersions: { ...initial } } : {}),
      stale: false,
      receivedAt: Date.now(),
    });
    if (sub !== undefined) this.schedule(typeUrl);
  }

  protected respond(typeUrl: string, sub: DeltaSub): void {
    const snapshot = this.host.store.snapshot(typeUrl);
    const candidates = new Set<string>([...sub.names, ...sub.known.keys()]);
    if (sub.wildcard) for (const name of snapshot.resources.keys()) candidates.add(name);
    const updates: StoredResource[] = [];
    const removed: string[] = [];
    for (const name of candidates) {
      if (!sub.wildcard && !sub.names.has(name)) {
        sub.known.delete(name); // an initial version for something not subscribed
        continue;
      }
      const current = snapshot.resources.get(name);
      const held = sub.known.get(name);
      if (current !== undefined) {
        if (held !== current.version) updates.push(current);
      } else if (held !== null) {
        if (held !== undefined || (sub.names.has(name) && this.host.deltaMissing === 'removed')) removed.push(name);
      }
    }
    if (!sub.force && updates.length === 0 && removed.length === 0) return;
    sub.force = false;

    const nonce = this.host.nextNonce();
    this.write({
      system_version_info: snapshot.version,
      resources: updates.map((r) => ({ name: r.name, version: r.version, resource: r.any })),
      type_url: typeUrl,
      removed_resources: removed,
      nonce,
      control_plane: { identifier: this.host.controlPlaneId },
    });
    for (const r of updates) sub.known.set(r.name, r.version);
    for (const name of removed) sub.known.set(name, null);
    this.host.sent({
      stream: this.id,
      kind: 'delta',
      typeUrl,
      version: snapshot.version,
      nonce,
      resourceNames: updates.map((r) => r.name),
      removedResources: removed,
      sentAt: Date.now(),
    });
  }
}
