/**
 * What the fake control plane serves: per type URL, a version and a set of named
 * resources already encoded as Anys. Every change bumps the type's version and
 * tells the listeners, which push to the streams. The store outlives the gRPC
 * server, so a restarted control plane serves the same state.
 */

/** How version strings are made from a type's change counter (1, 2, ...). */
export type VersionStyle = 'counter' | 'istio' | ((typeUrl: string, counter: number) => string);

/** One resource as served. */
export interface StoredResource {
  /** Resource name (Listener/Cluster/RouteConfiguration name, ClusterLoadAssignment cluster_name). */
  readonly name: string;
  /**
   * Per-resource version (the delta protocol's `Resource.version`): the type
   * version at which these bytes were last set. Setting identical bytes again
   * keeps it, so delta clients are not sent what they have.
   */
  readonly version: string;
  /** The Any sent for it. */
  readonly any: { readonly type_url: string; readonly value: Uint8Array };
}

/** All resources of one type. */
export interface TypeSnapshot {
  /** Version of the whole set (SotW `version_info`, delta `system_version_info`). */
  readonly version: string;
  /** Resources by name, in insertion order. */
  readonly resources: ReadonlyMap<string, StoredResource>;
}

/** A new resource for {@link ResourceStore.replace} / {@link ResourceStore.upsert}. */
export interface ResourceInput {
  /** Resource name. */
  readonly name: string;
  /** Its encoded Any. */
  readonly any: { readonly type_url: string; readonly value: Uint8Array };
}

interface TypeState {
  counter: number;
  version: string;
  resources: Map<string, StoredResource>;
}

/** Versioned resources per type URL; see the module comment. */
export class ResourceStore {
  private readonly types = new Map<string, TypeState>();
  private readonly listeners = new Set<(typeUrl: string) => void>();

  constructor(private readonly style: VersionStyle = 'counter') {}

  /** The type's current state; an empty set at version counter 0 when never set. */
  snapshot(typeUrl: string): TypeSnapshot {
    return this.stateOf(typeUrl);
  }

  /** Current version of the type's set (counter 0 when never set). */
  version(typeUrl: string): string {
    return this.stateOf(typeUrl).version;
  }

  /** Type URLs that were ever set. */
  typeUrls(): string[] {
    return [...this.types.keys()];
  }

  /** Replace the whole set of `typeUrl`; always bumps the version. Returns it. */
  replace(typeUrl: string, inputs: readonly ResourceInput[]): string {
    const names = new Set<string>();
    for (const { name } of inputs) {
      if (names.has(name)) throw new Error(`duplicate resource name ${JSON.stringify(name)} for ${typeUrl}`);
      names.add(name);
    }
    const state = this.bump(typeUrl);
    const previous = state.resources;
    state.resources = new Map();
    for (const input of inputs) state.resources.set(input.name, this.stored(state, previous.get(input.name), input));
    return this.changed(typeUrl, state);
  }

  /** Add or replace one resource; bumps the version. Returns it. */
  upsert(typeUrl: string, input: ResourceInput): string {
    const state = this.bump(typeUrl);
    state.resources.set(input.name, this.stored(state, state.resources.get(input.name), input));
    return this.changed(typeUrl, state);
  }

  /** Remove one resource; bumps the version only when it existed. Returns the (possibly unchanged) version. */
  remove(typeUrl: string, name: string): string {
    const state = this.stateOf(typeUrl);
    if (!state.resources.has(name)) return state.version;
    this.bump(typeUrl).resources.delete(name);
    return this.changed(typeUrl, state);
  }

  /** Call `listener(typeUrl)` after every change; returns the unsubscribe function. */
  onChange(listener: (typeUrl: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private stateOf(typeUrl: string): TypeState {
    let state = this.types.get(typeUrl);
    if (state === undefined) {
      state = { counter: 0, version: this.format(typeUrl, 0), resources: new Map() };
      this.types.set(typeUrl, state);
    }
    return state;
  }

  private bump(typeUrl: string): TypeState {
    const state = this.stateOf(typeUrl);
    state.counter++;
    state.version = this.format(typeUrl, state.counter);
    return state;
  }

  private stored(state: TypeState, previous: StoredResource | undefined, input: ResourceInput): StoredResource {
    const same = previous !== undefined && previous.any.type_url === input.any.type_url && Buffer.from(previous.any.value).equals(input.any.value);
    return { name: input.name, version: same ? previous.version : state.version, any: input.any };
  }

  private changed(typeUrl: string, state: TypeState): string {
    for (const listener of this.listeners) listener(typeUrl);
    return state.version;
  }

  private format(typeUrl: string, counter: number): string {
    if (typeof this.style === 'function') return this.style(typeUrl, counter);
    if (this.style === 'counter') return String(counter);
    // istiod: time.Now().Format(time.RFC3339) + "/" + a push counter (pilot/pkg/xds/discovery.go).
    return `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}/${counter}`;
  }
}
