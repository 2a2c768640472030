/**
 * What the client remembers about each resource of one type: the version and digest it last
 * applied, a standing rejection, or the server's word that it does not exist. It backs change
 * detection (unchanged bytes are not handed to the watcher again), delta's
 * `initial_resource_versions`, and the per-resource `client_status` of `/config_dump`.
 *
 * The ledger never holds the resources themselves: the watcher owns them.
 */
import type { Interest } from './type-subscription';
import type { ResourceStatus, UpdateFailure } from './xds-types';

/** The last applied copy of a resource. */
export interface AppliedResource {
  /** Its version (delta) or the version of the response that carried it (SotW). */
  readonly version: string;
  /** Digest of its bytes. */
  readonly hash: string;
  /** When it was applied, epoch ms. */
  readonly lastUpdatedMs: number;
}

/** Per-resource memory of one type; see the module comment. */
export class ResourceLedger {
  private readonly applied = new Map<string, AppliedResource>();
  /** Digest → name of applied copies, so unchanged bytes are recognised before decoding. */
  private readonly byHash = new Map<string, string>();
  private readonly rejected = new Map<string, UpdateFailure>();
  private readonly missing = new Set<string>();

  /** The applied copy of `name`, if any. */
  get(name: string): AppliedResource | undefined {
    return this.applied.get(name);
  }

  /** The name of the applied copy with exactly these bytes, if any. */
  nameOfHash(hash: string): string | undefined {
    const name = this.byHash.get(hash);
    return name !== undefined && this.applied.get(name)?.hash === hash ? name : undefined;
  }

  /** Names with an applied copy, in insertion order. */
  appliedNames(): IterableIterator<string> {
    return this.applied.keys();
  }

  /** Every applied `[name, copy]`. */
  entries(): IterableIterator<[string, AppliedResource]> {
    return this.applied.entries();
  }

  /** Records an applied (or re-confirmed) copy; clears any rejection or non-existence. */
  apply(name: string, copy: AppliedResource): void {
    this.applied.set(name, copy);
    this.byHash.set(copy.hash, name);
    this.rejected.delete(name);
    this.missing.delete(name);
  }

  /** The server offered `name` again and it was accepted: any standing rejection is over. */
  confirm(name: string): void {
    this.rejected.delete(name);
    this.missing.delete(name);
  }

  /**
   * Forgets the applied copy of `name`. When `stillWanted` (an explicit subscription the
   * server answered with "gone"), it is remembered as DOES_NOT_EXIST.
   */
  remove(name: string, stillWanted: boolean): void {
    const copy = this.applied.get(name);
    if (copy && this.byHash.get(copy.hash) === name) this.byHash.delete(copy.hash);
    this.applied.delete(name);
    this.rejected.delete(name);
    if (stillWanted) this.missing.add(name);
    else this.missing.delete(name);
  }

  /** Marks `names` NACKED with `failure` (their applied copies stay in service). */
  reject(names: Iterable<string>, failure: UpdateFailure): void {
    for (const name of names) this.rejected.set(name, failure);
  }

  /**
   * Drops everything about names outside `interest`: the watcher let go of them, so if they are
   * asked for again the next copy must reach it even if its bytes are unchanged.
   * @returns the names dropped.
   */
  retain(interest: Interest): string[] {
    if (interest.wildcard) return [];
    const dropped: string[] = [];
    for (const name of [...this.applied.keys(), ...this.rejected.keys(), ...this.missing]) {
      if (interest.names.has(name)) continue;
      if (this.applied.delete(name)) dropped.push(name);
      this.rejected.delete(name);
      this.missing.delete(name);
    }
    return dropped;
  }

  /** Status of every requested, applied, rejected or missing name, sorted by name. */
  statuses(interest: Interest): ResourceStatus[] {
    const names = new Set<string>([...this.applied.keys(), ...this.rejected.keys(), ...this.missing]);
    if (!interest.wildcard) for (const n of interest.names) names.add(n);
    return [...names].sort().map((name): ResourceStatus => {
      const copy = this.applied.get(name);
      const failure = this.rejected.get(name);
      return {
        name,
        clientStatus: failure !== undefined ? 'NACKED' : copy !== undefined ? 'ACKED' : this.missing.has(name) ? 'DOES_NOT_EXIST' : 'REQUESTED',
        version: copy?.version ?? '',
        lastUpdatedMs: copy?.lastUpdatedMs,
        errorState: failure,
      };
    });
  }
}
