/**
 * Parses Envoy's v3 API from the `.proto` text that `@grpc/grpc-js-xds` ships
 * under `deps/` (never copied into this repository, see STYLE.md §3), plus the
 * repository's own `protos/`.
 *
 * Run time uses this only when the precompiled descriptor is missing (see
 * `envoy-protos.ts`); `npm run build` uses it to write that descriptor.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as protobufTypes from 'protobufjs';

/**
 * protobufjs' full build (its .proto parser and bundled well-known files): only this fallback
 * parses .proto text, so only it loads them; everything else uses 'protobufjs/light', the same
 * classes without the parser (~60 KB of source fewer in every start).
 */
function protobufFull(): typeof protobufTypes {
  return require('protobufjs') as typeof protobufTypes;
}

/** Include roots inside the grpc-js-xds package, searched in this order. */
const DEP_ROOTS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'] as const;

/**
 * Extra files outside `envoy/**` that configs reference by type URL. The
 * well-known types come from protobufjs' bundled copies; they are listed so
 * that every one exists even if no Envoy file imports it (FieldMask).
 */
const EXTRA_FILES = [
  'xds/type/v3/typed_struct.proto',
  'udpa/type/v1/typed_struct.proto',
  ...['any', 'duration', 'timestamp', 'empty', 'struct', 'wrappers', 'field_mask'].map((f) => `google/protobuf/${f}.proto`),
];

const IMPORT_RE = /^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm;

/** What the text load found, besides the Root. */
export interface ProtoTextLoadInfo {
  /** Number of top-level `.proto` files handed to protobufjs (their imports come along). */
  readonly loadedFiles: number;
  /** `envoy/**` files skipped because something they import is not shipped. */
  readonly skippedFiles: readonly string[];
  /** The unshipped imports that caused the skips (e.g. opencensus, prometheus). */
  readonly missingImports: readonly string[];
}

/**
 * Parses every loadable Envoy v3/v3alpha file, the xDS/udpa TypedStruct types,
 * the well-known types and the repository's `protos/` into one Root
 * (synchronously; most of a second on a quiet machine).
 */
export function loadProtoTextRoot(): { root: protobufTypes.Root; info: ProtoTextLoadInfo } {
  const protobuf = protobufFull();
  const pkgDir = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const pbDir = path.dirname(require.resolve('protobufjs/package.json'));
  const repoProtos = findRepoProtosDir();
  const includeRoots = DEP_ROOTS.map((d) => path.join(pkgDir, 'deps', d));
  if (repoProtos !== undefined) includeRoots.push(repoProtos);

  const resolve = (target: string): string | null => {
    if (path.isAbsolute(target)) return fs.existsSync(target) ? target : null;
    // descriptor.proto is not among protobufjs' bundled "common" files, but
    // the package ships it on disk next to the others.
    if (target.startsWith('google/protobuf/')) {
      const p = path.join(pbDir, target);
      if (fs.existsSync(p)) return p;
      // Bundled in protobufjs' "common" set (any, duration, field_mask...):
      // protobufjs recognizes the bare name.
      if (protobuf.common.get(target) !== null) return target;
    }
    for (const dir of includeRoots) {
      const p = path.join(dir, target);
      if (fs.existsSync(p)) return p;
    }
    return null;
  };

  const envoyApi = path.join(pkgDir, 'deps', 'envoy-api');
  const candidates = listProtos(path.join(envoyApi, 'envoy'))
    .map((f) => path.relative(envoyApi, f).split(path.sep).join('/'))
    .filter((f) => /\/v3(alpha)?\//.test(f))
    .sort();

  // protobufjs aborts the whole load on the first missing import, so files
  // whose import closure reaches an unshipped proto are left out up front.
  const closure = new ImportClosure(resolve);
  const missing = new Set<string>();
  const accepted: string[] = [];
  const skipped: string[] = [];
  for (const file of candidates) {
    const gaps = closure.missing(file);
    if (gaps.length === 0) accepted.push(file);
    else {
      skipped.push(file);
      for (const g of gaps) missing.add(g);
    }
  }

  const result = new protobuf.Root();
  result.resolvePath = (_origin, target) => resolve(target);
  const files = [...accepted, ...EXTRA_FILES];
  result.loadSync(files, { keepCase: true });
  if (repoProtos !== undefined) {
    const own = listProtos(repoProtos);
    if (own.length > 0) result.loadSync(own, { keepCase: true });
    files.push(...own);
  }
  return {
    root: result,
    info: { loadedFiles: files.length, skippedFiles: skipped, missingImports: [...missing].sort() },
  };
}

/** Memoized import graph walk; `google/protobuf/*` always counts as available. */
class ImportClosure {
  private readonly imports = new Map<string, string[] | null>();

  constructor(private readonly resolve: (target: string) => string | null) {}

  /** The unresolvable files reachable from `file` (empty when the closure is complete). */
  missing(file: string): string[] {
    const gaps: string[] = [];
    const seen = new Set<string>();
    const stack = [file];
    while (stack.length > 0) {
      const f = stack.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      const deps = this.importsOf(f);
      if (deps === null) gaps.push(f);
      else stack.push(...deps);
    }
    return gaps;
  }

  private importsOf(file: string): string[] | null {
    let deps = this.imports.get(file);
    if (deps === undefined) {
      const p = this.resolve(file);
      if (file.startsWith('google/protobuf/')) deps = [];
      else if (p === null) deps = null;
      else deps = Array.from(fs.readFileSync(p, 'utf8').matchAll(IMPORT_RE), (m) => m[1]!);
      this.imports.set(file, deps);
    }
    return deps;
  }
}

function listProtos(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.proto')) out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

/** The repository's `protos/` directory, if there is one. */
export function findRepoProtosDir(): string | undefined {
  const root = findPackageRoot();
  if (root === undefined) return undefined;
  const p = path.join(root, 'protos');
  return fs.existsSync(p) && fs.statSync(p).isDirectory() ? p : undefined;
}

/**
 * The repository root: found by walking up from this module (it runs from
 * `src/proto` under ts-node or `dist/src/proto` when compiled) to the first
 * directory holding a package.json.
 */
export function findPackageRoot(): string | undefined {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
