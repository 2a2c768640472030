import type { ProtoObj } from './resources/decode-context';

/** One accepted xDS resource, as /config_dump shows it. */
export interface AcceptedResource<M> {
  readonly name: string;
  readonly model: M;
  /** Normalized proto, re-emitted by /config_dump. */
  readonly proto: ProtoObj;
  /** Digest of the proto: an unchanged resource keeps its model object (so nothing is rebuilt). */
  readonly hash: string;
  readonly version: string;
  readonly lastUpdated: Date;
}

/** The last rejected update of a resource (config_dump `error_state`). */
export interface RejectedUpdate {
  readonly details: string;
  readonly version: string;
  readonly lastUpdateAttempt: Date;
  readonly failedConfiguration: ProtoObj | undefined;
}
