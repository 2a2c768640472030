/**
 * The precompiled form of Envoy's proto root that `npm run build` writes to
 * `dist/envoy-descriptor/` (scripts/build-proto-descriptor.js) and run time
 * reads lazily (`envoy-protos.ts`).
 *
 * Parsing all of Envoy's .proto text at start cost most of a second and ~45 MiB
 * of RSS, while a sidecar uses a small part of the API. The descriptor is split
 * into one protobufjs-JSON file per proto package ("chunk"); the manifest lists
 * for each chunk the chunks its types refer to. Looking a type up loads its
 * package and the closure of those references, nothing else, so a bootstrap
 * pays only for the packages its types (and its `typed_config` type URLs) reach.
 *
 * Within a loaded package, a member (message, enum, service) becomes a protobufjs
 * object only when something reaches it by name: a bootstrap touches ~50 of the
 * ~500 types its packages hold, and building reflection objects (fields, maps of
 * fields, root registration) was most of the cost of loading a package. Every
 * message-typed field and RPC type in the files is written as an absolute name
 * (`.envoy.config.core.v3.Address`), so protobufjs resolves it by walking
 * `Namespace#get` from the root, which is where the lazy members sit (a relative
 * name would make protobufjs search sibling namespaces and build all of them).
 *
 * Format (version {@link DESCRIPTOR_FORMAT}): `manifest.json` as
 * {@link DescriptorManifest}; `<package>.json` as {@link ChunkFile}, whose
 * members are the JSON text of protobufjs `toJSON()` output with absolute type
 * names, plus `parsedOptions` (which protobufjs' JSON leaves out and PGV
 * validation reads). The text is parsed when the member is first reached.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs/light';

/** Bumped whenever the files' shape changes; a mismatch makes run time fall back to .proto text. */
export const DESCRIPTOR_FORMAT = 2;

export interface DescriptorManifest {
  readonly format: number;
  /** Versions of the packages the descriptor was built from; a mismatch means it is stale. */
  readonly sources: DescriptorSources;
  /** What the .proto text load reported (files loaded, skipped, missing imports). */
  readonly loadedFiles: number;
  readonly skippedFiles: readonly string[];
  readonly missingImports: readonly string[];
  /** Package name → the packages its types reference (fields, map values, RPC types). */
  readonly chunks: Readonly<Record<string, readonly string[]>>;
  /** Hash of the code that wrote it (scripts/build-proto-descriptor.js rebuilds when it changes). */
  readonly builtBy: string;
}

export interface DescriptorSources {
  readonly grpcJsXds: string;
  readonly protobufjs: string;
  /** Names and sizes of the repository's own .proto files, so editing one invalidates the build. */
  readonly repoProtos: string;
}

/** One package: its direct members (messages, enums, services), each as the text of its protobufjs JSON. */
export interface ChunkFile {
  readonly members: Record<string, string>;
}

type MemberJson = Record<string, unknown> & { parsedOptions?: unknown };

// === Writing (build time) ===

/** Writes the manifest and one file per package of `root` as the directory `dir` (replacing it). */
export function writeDescriptorChunks(
  root: protobuf.Root,
  info: Pick<DescriptorManifest, 'loadedFiles' | 'skippedFiles' | 'missingImports'>,
  sources: DescriptorSources,
  dir: string,
  builtBy: string,
): { chunks: number; bytes: number } {
  root.resolveAll();
  const members = new Map<string, Record<string, MemberJson>>();
  const deps = new Map<string, Set<string>>();
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const obj of ns.nestedArray) {
      if (obj instanceof protobuf.Type || obj instanceof protobuf.Enum || obj instanceof protobuf.Service) {
        const chunk = packageOf(obj);
        let m = members.get(chunk);
        if (m === undefined) members.set(chunk, (m = {}));
        // Absolute type names come from the references resolveAll() resolved above.
        m[obj.name] = withAbsoluteTypes(obj, withParsedOptions(obj, obj.toJSON() as unknown as MemberJson));
        let d = deps.get(chunk);
        if (d === undefined) deps.set(chunk, (d = new Set()));
        collectReferences(obj, d);
        d.delete(chunk);
      } else if (obj instanceof protobuf.Namespace) {
        visit(obj);
      }
      // Package-level extension fields (`extend google.protobuf.FieldOptions`, PGV's rules) only
      // extend descriptor option messages; their values already sit in parsedOptions.
    }
  };
  visit(root);

  // Written aside and swapped in with renames, so a Legate running from this tree (a test, a
  // bench) never sees a half-written descriptor when it loads its next package.
  const next = `${dir}.next-${process.pid}`;
  fs.rmSync(next, { recursive: true, force: true });
  fs.mkdirSync(next, { recursive: true });
  let bytes = 0;
  for (const [chunk, m] of members) {
    const text = JSON.stringify({ members: Object.fromEntries(Object.entries(m).map(([name, json]) => [name, JSON.stringify(json)])) } satisfies ChunkFile);
    fs.writeFileSync(path.join(next, `${chunk}.json`), text);
    bytes += text.length;
  }
  const manifest: DescriptorManifest = {
    format: DESCRIPTOR_FORMAT,
    sources,
    ...info,
    chunks: Object.fromEntries([...deps].sort(([a], [b]) => a.localeCompare(b)).map(([c, d]) => [c, [...d].sort()])),
    builtBy,
  };
  fs.writeFileSync(path.join(next, 'manifest.json'), JSON.stringify(manifest));
  const old = `${dir}.old-${process.pid}`;
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.renameSync(next, dir);
  fs.rmSync(old, { recursive: true, force: true });
  return { chunks: members.size, bytes };
}

/** The package (nearest enclosing plain namespace) of a message, enum or service. */
function packageOf(obj: protobuf.ReflectionObject): string {
  let p = obj.parent;
  while (p !== null && (p instanceof protobuf.Type || p instanceof protobuf.Service)) p = p.parent;
  return p === null ? '' : p.fullName.replace(/^\./, '');
}

function collectReferences(obj: protobuf.ReflectionObject, into: Set<string>): void {
  if (obj instanceof protobuf.Type) {
    // Declaring fields are extensions added by other packages (PGV's rules on FieldOptions);
    // toJSON leaves them out, so they are not references of this package.
    for (const f of obj.fieldsArray) if (f.resolvedType !== null && f.declaringField === null) into.add(packageOf(f.resolvedType));
  }
  if (obj instanceof protobuf.Service) {
    for (const m of obj.methodsArray) {
      if (m.resolvedRequestType !== null) into.add(packageOf(m.resolvedRequestType));
      if (m.resolvedResponseType !== null) into.add(packageOf(m.resolvedResponseType));
    }
  }
  if (obj instanceof protobuf.Namespace) for (const n of obj.nestedArray) collectReferences(n, into);
}

/** Copies `parsedOptions` of the object and everything inside it into its toJSON output. */
function withParsedOptions(obj: protobuf.ReflectionObject, json: MemberJson): MemberJson {
  if (obj.parsedOptions != null && obj.parsedOptions.length > 0) json.parsedOptions = obj.parsedOptions;
  if (obj instanceof protobuf.Type) {
    const fields = json['fields'] as Record<string, MemberJson> | undefined;
    for (const f of obj.fieldsArray) if (fields?.[f.name] !== undefined) withParsedOptions(f, fields[f.name]!);
    const oneofs = json['oneofs'] as Record<string, MemberJson> | undefined;
    for (const o of obj.oneofsArray) if (oneofs?.[o.name] !== undefined) withParsedOptions(o, oneofs[o.name]!);
  }
  if (obj instanceof protobuf.Service) {
    const methods = json['methods'] as Record<string, MemberJson> | undefined;
    for (const m of obj.methodsArray) if (methods?.[m.name] !== undefined) withParsedOptions(m, methods[m.name]!);
  }
  if (obj instanceof protobuf.Namespace) {
    const nested = json['nested'] as Record<string, MemberJson> | undefined;
    for (const n of obj.nestedArray) if (nested?.[n.name] !== undefined) withParsedOptions(n, nested[n.name]!);
  }
  return json;
}

/**
 * Rewrites the type names of fields (and map values) and RPCs in `json`, the toJSON output of
 * `obj`, to the absolute names of what they resolved to. Scalar types stay as they are.
 */
function withAbsoluteTypes(obj: protobuf.ReflectionObject, json: MemberJson): MemberJson {
  if (obj instanceof protobuf.Type) {
    const fields = json['fields'] as Record<string, MemberJson> | undefined;
    for (const f of obj.fieldsArray) {
      const fj = fields?.[f.name];
      if (fj !== undefined && f.resolvedType !== null && f.declaringField === null) fj['type'] = f.resolvedType.fullName;
    }
  }
  if (obj instanceof protobuf.Service) {
    const methods = json['methods'] as Record<string, MemberJson> | undefined;
    for (const m of obj.methodsArray) {
      const mj = methods?.[m.name];
      if (mj === undefined) continue;
      if (m.resolvedRequestType !== null) mj['requestType'] = m.resolvedRequestType.fullName;
      if (m.resolvedResponseType !== null) mj['responseType'] = m.resolvedResponseType.fullName;
    }
  }
  if (obj instanceof protobuf.Namespace) {
    const nested = json['nested'] as Record<string, MemberJson> | undefined;
    for (const n of obj.nestedArray) if (nested?.[n.name] !== undefined) withAbsoluteTypes(n, nested[n.name]!);
  }
  return json;
}

// === Reading (run time) ===

/**
 * A Root filled on demand from a descriptor directory. Not thread-safe in any
 * sense that matters here: Node runs it on one thread.
 */
export class LazyDescriptorRoot {
  readonly root = new protobuf.Root();
  private readonly loaded = new Set<string>();
  /** Members of the loaded packages, and how many of them were built (diagnostics, tests). */
  private readonly members = { listed: 0, built: 0 };

  private constructor(
    private readonly dir: string,
    readonly manifest: DescriptorManifest,
  ) {}

  /**
   * Opens `dir` if it holds a descriptor of the current format built from
   * `expected` sources; otherwise returns why not (for the fallback warning).
   */
  static open(dir: string, expected: DescriptorSources): LazyDescriptorRoot | string {
    let manifest: DescriptorManifest;
    try {
      manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as DescriptorManifest;
    } catch (err) {
      return `${path.join(dir, 'manifest.json')} is missing or unreadable (${(err as Error).message})`;
    }
    if (manifest.format !== DESCRIPTOR_FORMAT) return `${dir} has format ${manifest.format}, expected ${DESCRIPTOR_FORMAT}`;
    for (const key of Object.keys(expected) as (keyof DescriptorSources)[]) {
      if (manifest.sources?.[key] !== expected[key]) return `${dir} was built from other sources (${key}: ${manifest.sources?.[key]} ≠ ${expected[key]})`;
    }
    return new LazyDescriptorRoot(dir, manifest);
  }

  /** Number of packages loaded so far (diagnostics, the benchmark). */
  get loadedChunks(): number {
    return this.loaded.size;
  }

  /** Top-level members of the loaded packages, and how many are built protobufjs objects. */
  get memberCounts(): { readonly listed: number; readonly built: number } {
    return { ...this.members };
  }

  /**
   * Loads the package that holds `fullName` (no leading dot), if any, with
   * every package its types reach, so that protobufjs can resolve all of them.
   * Returns false when no package of the descriptor holds the name.
   */
  ensure(fullName: string): boolean {
    for (let end = fullName.lastIndexOf('.'); end > 0; end = fullName.lastIndexOf('.', end - 1)) {
      const pkg = fullName.slice(0, end);
      if (this.manifest.chunks[pkg] !== undefined) {
        this.loadClosure(pkg);
        return true;
      }
    }
    // Types declared without a package live in the root's chunk ('').
    if (this.manifest.chunks[''] === undefined) return false;
    this.loadClosure('');
    return true;
  }

  /**
   * The message, enum or service with exactly this full name (no leading dot), or null.
   * Walks the name one segment at a time (`Namespace#get`), so only that member is built:
   * protobufjs' own lookup searches every namespace below the root for a name it does not
   * find, which would build every member loaded so far.
   */
  lookup(fullName: string): protobuf.ReflectionObject | null {
    if (!this.ensure(fullName)) return null;
    let at: protobuf.ReflectionObject | null = this.root;
    for (const segment of fullName.split('.')) {
      at = at instanceof protobuf.Namespace ? at.get(segment) : null;
      if (at === null) return null;
    }
    return at;
  }

  /** Loads every package (for tools and tests that walk the whole API). */
  loadAll(): void {
    for (const pkg of Object.keys(this.manifest.chunks)) this.loadClosure(pkg);
  }

  private loadClosure(pkg: string): void {
    const stack = [pkg];
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (this.loaded.has(p)) continue;
      this.loaded.add(p);
      this.loadChunk(p);
      for (const d of this.manifest.chunks[p] ?? []) if (!this.loaded.has(d)) stack.push(d);
    }
  }

  private loadChunk(pkg: string): void {
    const file = JSON.parse(fs.readFileSync(path.join(this.dir, `${pkg}.json`), 'utf8')) as ChunkFile;
    const ns: protobuf.NamespaceBase = pkg === '' ? this.root : this.root.define(pkg);
    const nested = (ns.nested ??= {});
    const members = this.members;
    for (const [name, text] of Object.entries(file.members)) {
      members.listed++;
      // A placeholder that builds the member on first access (Namespace#get, nestedArray,
      // lookups) and puts the real object in its place through the regular Namespace#add.
      Object.defineProperty(nested, name, {
        configurable: true,
        enumerable: true,
        get: () => {
          delete nested[name];
          members.built++;
          const obj = memberFromJson(name, JSON.parse(text) as MemberJson);
          ns.add(obj);
          return obj;
        },
      });
    }
    forgetCaches(ns);
  }
}

/**
 * protobufjs caches a namespace's member list (`nestedArray`) and lookup results, and clears
 * them in Namespace#add, which the placeholders above bypass: clear them as add does.
 * (The descriptor is bound to the protobufjs version it was built with, see DescriptorSources.)
 */
function forgetCaches(ns: protobuf.NamespaceBase): void {
  for (let at: protobuf.NamespaceBase | null = ns; at !== null; at = at.parent) {
    const internal = at as unknown as { _nestedArray: unknown; _lookupCache: unknown };
    if (at === ns) internal._nestedArray = null;
    internal._lookupCache = Object.create(null);
  }
}

function memberFromJson(name: string, json: MemberJson): protobuf.ReflectionObject {
  const obj =
    json['fields'] !== undefined
      ? protobuf.Type.fromJSON(name, json as unknown as protobuf.IType)
      : json['values'] !== undefined
        ? protobuf.Enum.fromJSON(name, json as unknown as protobuf.IEnum)
        : protobuf.Service.fromJSON(name, json as unknown as protobuf.IService);
  restoreParsedOptions(obj, json);
  return obj;
}

function restoreParsedOptions(obj: protobuf.ReflectionObject, json: MemberJson): void {
  if (json.parsedOptions !== undefined) obj.parsedOptions = json.parsedOptions as typeof obj.parsedOptions;
  const children = (key: string): Record<string, MemberJson> | undefined => json[key] as Record<string, MemberJson> | undefined;
  if (obj instanceof protobuf.Type) {
    const fields = children('fields');
    for (const f of obj.fieldsArray) if (fields?.[f.name] !== undefined) restoreParsedOptions(f, fields[f.name]!);
    const oneofs = children('oneofs');
    for (const o of obj.oneofsArray) if (oneofs?.[o.name] !== undefined) restoreParsedOptions(o, oneofs[o.name]!);
  }
  if (obj instanceof protobuf.Service) {
    const methods = children('methods');
    for (const m of obj.methodsArray) if (methods?.[m.name] !== undefined) restoreParsedOptions(m, methods[m.name]!);
  }
  if (obj instanceof protobuf.Namespace) {
    const nested = children('nested');
    for (const n of obj.nestedArray) if (nested?.[n.name] !== undefined) restoreParsedOptions(n, nested[n.name]!);
  }
}
