/**
 * The one protobufjs `Root` holding Envoy's v3 API, from the `.proto` files
 * that `@grpc/grpc-js-xds` ships under `deps/` (we never copy them into this
 * repository, see STYLE.md §3).
 *
 * Normally the Root is filled lazily from the descriptor that `npm run build`
 * precompiles into `dist/envoy-descriptor/` (`descriptor-chunks.ts`): a lookup
 * loads only the proto packages the looked-up type reaches. When that
 * descriptor is missing or stale (someone ran plain `tsc`, or upgraded a
 * dependency without rebuilding) Legate warns once on stderr and parses all of
 * the .proto text instead, as it did before: slower to start and ~30 MiB more
 * RSS, same behaviour. `LEGATE_PROTO_SOURCE=text` forces that path (tests
 * compare both).
 *
 * Only the config loader and the xDS resource decoders should need this
 * module: everything deeper sees the normalized plain objects made by
 * `proto-json.ts` / `proto-binary.ts`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs/light';
import { logger } from '../common/logger';
import { LazyDescriptorRoot, type DescriptorSources } from './descriptor-chunks';
import { findPackageRoot, findRepoProtosDir, loadProtoTextRoot } from './proto-text-root';

/** Where `npm run build` writes the descriptor, relative to the repository root. */
export const DESCRIPTOR_DIR = path.join('dist', 'envoy-descriptor');

/** What a load produced; kept for diagnostics (`/config_dump`, tests, `--version` output). */
export interface EnvoyRootInfo {
  /** Number of top-level `.proto` files handed to protobufjs (their imports come along). */
  readonly loadedFiles: number;
  /** `envoy/**` files skipped because something they import is not shipped. */
  readonly skippedFiles: readonly string[];
  /** The unshipped imports that caused the skips (e.g. opencensus, prometheus). */
  readonly missingImports: readonly string[];
  /** Wall-clock time of the load, in milliseconds. */
  readonly loadMs: number;
}

/** Which source the Root comes from: the precompiled descriptor, or .proto text. */
export type EnvoyProtoSource = 'descriptor' | 'proto-text';

let lazy: LazyDescriptorRoot | undefined;
let textRoot: protobuf.Root | undefined;
let textInfo: EnvoyRootInfo | undefined;
let fullRoot: protobuf.Root | undefined;
let info: EnvoyRootInfo | undefined;
const typeCache = new Map<string, protobuf.Type | null>();

/**
 * Returns the shared Root with every loadable Envoy v3/v3alpha message, the
 * xDS/udpa TypedStruct types and the repository's own `protos/`, all loaded
 * (for tools and tests that walk the API; the proxy itself uses
 * {@link lookupMessage}, which loads only what it needs). Later calls return the
 * same object. Throws only if a shipped or repository proto is syntactically
 * broken, which is an installation bug, not a config error.
 */
export function envoyRoot(): protobuf.Root {
  if (fullRoot === undefined) {
    const started = performance.now();
    const src = source();
    if (src instanceof LazyDescriptorRoot) {
      src.loadAll();
      const m = src.manifest;
      info = { loadedFiles: m.loadedFiles, skippedFiles: m.skippedFiles, missingImports: m.missingImports, loadMs: performance.now() - started };
      fullRoot = src.root;
    } else {
      info = textInfo!;
      fullRoot = src;
    }
  }
  return fullRoot;
}

/** Statistics of the (forced) load; see {@link EnvoyRootInfo}. */
export function envoyRootInfo(): EnvoyRootInfo {
  envoyRoot();
  return info!;
}

/** Where the types come from (see the module comment). */
export function envoyProtoSource(): EnvoyProtoSource {
  return source() instanceof LazyDescriptorRoot ? 'descriptor' : 'proto-text';
}

/** Proto packages loaded so far from the descriptor (undefined with the .proto text source). */
export function loadedProtoPackages(): number | undefined {
  const src = source();
  return src instanceof LazyDescriptorRoot ? src.loadedChunks : undefined;
}

/**
 * Members (messages, enums, services) of the descriptor packages loaded so far, and how many of
 * them are built (undefined with the .proto text source). Diagnostics and tests.
 */
export function descriptorMemberCounts(): { readonly listed: number; readonly built: number } | undefined {
  const src = source();
  return src instanceof LazyDescriptorRoot ? src.memberCounts : undefined;
}

/**
 * Looks up a message type by full name (`envoy.config.cluster.v3.Cluster`,
 * a leading dot is allowed). Returns undefined for unknown names and for
 * names that denote something other than a message (an enum, a package).
 */
export function lookupMessage(fullName: string): protobuf.Type | undefined {
  const name = fullName.startsWith('.') ? fullName.slice(1) : fullName;
  let hit = typeCache.get(name);
  if (hit === undefined) {
    const found = name === '' ? null : lookupIn(source(), name);
    hit = found instanceof protobuf.Type ? found : null;
    typeCache.set(name, hit);
  }
  return hit ?? undefined;
}

/**
 * Resolves an Any type URL: everything up to the last '/' is the host part and
 * is ignored, as protobuf's own resolver does
 * (`type.googleapis.com/envoy.config.cluster.v3.Cluster`, `example.com/x/y.Z`).
 */
export function lookupByTypeUrl(url: string): protobuf.Type | undefined {
  return lookupMessage(url.slice(url.lastIndexOf('/') + 1));
}

/** The canonical type URL of a message type, as Envoy and xDS servers write it. */
export function typeUrlOf(type: protobuf.Type): string {
  return `type.googleapis.com/${type.fullName.replace(/^\./, '')}`;
}

// === Choosing the source ===

function source(): LazyDescriptorRoot | protobuf.Root {
  if (lazy !== undefined) return lazy;
  if (textRoot !== undefined) return textRoot;
  const dir = process.env['LEGATE_PROTO_SOURCE'] === 'text' ? undefined : openDescriptor();
  if (dir !== undefined) return (lazy = dir);
  const started = performance.now();
  const loaded = loadProtoTextRoot();
  textInfo = { ...loaded.info, loadMs: performance.now() - started };
  return (textRoot = loaded.root);
}

function openDescriptor(): LazyDescriptorRoot | undefined {
  const pkgRoot = findPackageRoot();
  const dir = pkgRoot === undefined ? DESCRIPTOR_DIR : path.join(pkgRoot, DESCRIPTOR_DIR);
  const opened = LazyDescriptorRoot.open(dir, currentDescriptorSources());
  if (typeof opened !== 'string') return opened;
  logger('config').warn(`not using the precompiled Envoy proto descriptor: ${opened}; parsing the .proto files instead (slower start, more memory). Run \`npm run build\` to rebuild it.`);
  return undefined;
}

function lookupIn(src: LazyDescriptorRoot | protobuf.Root, name: string): protobuf.ReflectionObject | null {
  if (src instanceof LazyDescriptorRoot) return src.lookup(name);
  return src.lookup(name);
}

/** The versions a descriptor must have been built from to be used (also written by the build). */
export function currentDescriptorSources(): DescriptorSources {
  const version = (pkg: string): string => (JSON.parse(fs.readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
  const own = findRepoProtosDir();
  const repoProtos = own === undefined ? '' : listFiles(own).map((f) => `${path.relative(own, f)}:${fs.statSync(f).size}`).join(',');
  return { grpcJsXds: version('@grpc/grpc-js-xds'), protobufjs: version('protobufjs'), repoProtos };
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.proto'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}
