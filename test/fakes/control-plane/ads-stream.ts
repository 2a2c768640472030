/**
 * What the SotW and delta streams share: the records the control plane keeps,
 * the host interface a stream sees, and per-type response scheduling (response
 * delay, paused types). A stream decides WHAT to send; this base decides WHEN.
 */
import type { ProtoObject } from '../../../src/proto/proto-types';
import type { ResourceStore } from './resource-store';

/** `google.rpc.Status` of a NACK. */
export interface ErrorDetail {
  /** gRPC status code (0 when the client left it out). */
  readonly code: number;
  /** The client's reason ('' when left out). */
  readonly message: string;
}

/** One request received, on either protocol variant. */
export interface RequestRecord {
  /** Id of the stream it came on (1, 2, ... across restarts). */
  readonly stream: number;
  /** Protocol variant of the stream. */
  readonly kind: 'sotw' | 'delta';
  /** `type_url` of the request. */
  readonly typeUrl: string;
  /** SotW: `version_info` ('' when absent). Delta: always ''. */
  readonly versionInfo: string;
  /** `response_nonce` ('' when absent). */
  readonly responseNonce: string;
  /**
   * SotW: `resource_names` as sent. Delta: the stream's explicit subscriptions
   * for the type after this request, with `'*'` first when it is wildcard.
   */
  readonly resourceNames: readonly string[];
  /** Present only on a NACK. */
  readonly errorDetail?: ErrorDetail;
  /** The normalized `node`, when the request carried one. */
  readonly node?: ProtoObject;
  /** Delta: `resource_names_subscribe`. */
  readonly subscribe?: readonly string[];
  /** Delta: `resource_names_unsubscribe`. */
  readonly unsubscribe?: readonly string[];
  /** Delta: `initial_resource_versions`. */
  readonly initialResourceVersions?: Readonly<Record<string, string>>;
  /** True when the server ignored it for carrying a stale nonce (SotW only). */
  readonly stale: boolean;
  /** `Date.now()` at arrival. */
  readonly receivedAt: number;
}

/** One response sent. */
export interface ResponseRecord {
  /** Id of the stream it went to. */
  readonly stream: number;
  /** Protocol variant of the stream. */
  readonly kind: 'sotw' | 'delta';
  /** `type_url` of the response. */
  readonly typeUrl: string;
  /** SotW `version_info` / delta `system_version_info`. */
  readonly version: string;
  /** The response's nonce. */
  readonly nonce: string;
  /** Names of the resources it carried. */
  readonly resourceNames: readonly string[];
  /** Delta: `removed_resources`. */
  readonly removedResources?: readonly string[];
  /** `Date.now()` when written. */
  readonly sentAt: number;
}

/** What the control plane gives its streams. */
export interface StreamHost {
  /** The served state. */
  readonly store: ResourceStore;
  /** `DiscoveryResponse.control_plane.identifier`. */
  readonly controlPlaneId: string;
  /** Delta: how a subscribed name that does not exist is answered. */
  readonly deltaMissing: 'removed' | 'ignore';
  /** True for types where an empty first subscription means "everything" (LDS, CDS). */
  isWildcardType(typeUrl: string): boolean;
  /** A nonce never used before by this control plane (restarts included). */
  nextNonce(): string;
  /** Delay before a response of `typeUrl` is computed and sent (0 = at once). */
  responseDelayMs(typeUrl: string): number;
  /** While true, nothing of `typeUrl` is sent; the stream catches up on resume. */
  isPaused(typeUrl: string): boolean;
  /** Called for every request, before the stream acts on it. */
  received(record: RequestRecord): void;
  /** Called for every response written. */
  sent(record: ResponseRecord): void;
}

/** Per-type response scheduling shared by both variants. */
export abstract class AdsStream<Sub> {
  /** Subscription state per type URL. */
  protected readonly subs = new Map<string, Sub>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    /** Stream id, as in {@link RequestRecord.stream}. */
    readonly id: number,
    protected readonly host: StreamHost,
  ) {}

  /** The store changed `typeUrl`, or it was resumed: send whatever the client now lacks. */
  refresh(typeUrl: string): void {
    if (this.subs.has(typeUrl)) this.schedule(typeUrl);
  }

  /** Stop sending; pending delayed responses are dropped. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** True until {@link close}. */
  get open(): boolean {
    return !this.closed;
  }

  /** Send for `typeUrl` now, or after the configured delay (the state is read when sending). */
  protected schedule(typeUrl: string): void {
    if (this.closed || this.timers.has(typeUrl) || this.host.isPaused(typeUrl)) return;
    const delay = this.host.responseDelayMs(typeUrl);
    if (delay <= 0) {
      this.flush(typeUrl);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(typeUrl);
      this.flush(typeUrl);
    }, delay);
    this.timers.set(typeUrl, timer);
  }

  private flush(typeUrl: string): void {
    if (this.closed || this.host.isPaused(typeUrl)) return;
    const sub = this.subs.get(typeUrl);
    if (sub !== undefined) this.respond(typeUrl, sub);
  }

  /** Compute and write the response for `typeUrl`, if one is due. */
  protected abstract respond(typeUrl: string, sub: Sub): void;
}

/** `error_detail` of a request as an {@link ErrorDetail}, or undefined. */
export function errorDetailOf(detail: { readonly code?: number; readonly message?: string } | undefined): ErrorDetail | undefined {
  return detail === undefined ? undefined : { code: detail.code ?? 0, message: detail.message ?? '' };
}
