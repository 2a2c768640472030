/**
 * V8 code cache for Legate's own modules and its dependencies, so a start does not compile
 * ~220 CommonJS modules from source (issue #8: `/ready` within 300 ms of start).
 *
 * Node 20 has no `module.enableCompileCache` (Node 22). This does the same with public APIs:
 * `npm run build` runs Legate once on a sample sidecar bootstrap with the producer on
 * (scripts/build-code-cache.js) and writes, for every module it loaded from `dist/` or
 * `node_modules/`, V8's cached data (`vm.Script#createCachedData`, taken at exit, so it holds
 * the functions start-up ran, not only the top level). `bin/legate` installs the consumer before
 * loading anything else: a hook on `Module.prototype._compile` (the hook ts-node and pirates use)
 * that compiles a listed module with `vm.Script` and its `cachedData`.
 *
 * The cache is an optimisation only and is ignored silently whenever it might not fit:
 *  - V8 rejects data made by another V8 version, under other V8 flags (`--max-old-space-size`,
 *    `--expose-gc`, ...) or for other CPU features (`cachedDataRejected`): at the first rejected
 *    module the consumer uninstalls itself and everything compiles as before. (The consumer does
 *    not compare `v8.cachedDataVersionTag()` first: V8 checks the same when it reads the data.
 *    The build uses the tag, taken under the flags a start runs with (startup-tiering.ts: the
 *    optimizing compiler held off), to tell whether the file is current.)
 *  - each entry carries the SHA-1 of the module's source: an edited or rebuilt file, whatever
 *    its length, compiles from source (V8 itself checks only the source length);
 *  - an unreadable, truncated or foreign file is ignored as a whole;
 *  - the producer also records how each `require(request)` of a cached module resolved (Node's
 *    resolution stats and reads package.json files up the tree: ~25–30 ms of a 100-service
 *    start). The consumer answers those requests from the record only while the target file still
 *    exists, and asks Node for anything else (other parents, `require.resolve` with options,
 *    targets gone after an `npm ci` without a rebuild);
 *  - with `--enable-source-maps` (command line or NODE_OPTIONS) nothing is installed: Node maps
 *    stack traces only for modules its own compile saw. A preload that turns source maps on by
 *    API (tap's processinfo does, in tests) does not stop the cache; stack traces from cached
 *    modules then name the compiled .js lines.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { startupCodeCacheTag } from './startup-tiering';

const MAGIC = 'LGCC0001';

/** One module's data in the cache file. */
interface Entry {
  /** SHA-1 (hex) of the module source the data was made from. */
  readonly sha1: string;
  readonly offset: number;
  readonly length: number;
}

interface Header {
  readonly tag: number;
  /** Module path relative to the package root → its data. */
  readonly entries: Record<string, Entry>;
  /** `resolutionKey(parent directory, request)` → resolved module path, both relative to the package root. */
  readonly resolutions?: Record<string, string>;
}

/** What the consumer did in this process (for tests and the memory probe). */
export interface CodeCacheStats {
  /** The cache file read, or undefined (none, or unusable). */
  file: string | undefined;
  /** Modules compiled with cached data V8 accepted. */
  used: number;
  /** Modules whose cached data V8 rejected (at most 1: the consumer then uninstalls itself). */
  rejected: number;
  /** Listed modules whose source no longer matches (compiled from source). */
  stale: number;
  /** `require` requests answered from the recorded resolutions. */
  resolved: number;
}

const stats: CodeCacheStats = { file: undefined, used: 0, rejected: 0, stale: 0, resolved: 0 };

/** Undoes {@link installCodeCache}; set while installed. */
let uninstall: (() => void) | undefined;

export function codeCacheStats(): Readonly<CodeCacheStats> {
  return stats;
}

/** The cache file under `dir`. */
export function codeCacheFile(dir: string): string {
  return path.join(dir, 'modules.bin');
}

/** V8's version/flags/CPU tag of this process now: what the data it makes is valid for. */
function v8Tag(): number {
  return (require('node:v8') as typeof import('node:v8')).cachedDataVersionTag();
}

type CompileFn = (this: NodeModule, content: string, filename: string) => unknown;
type ResolveFn = (request: string, parent: NodeModule | undefined, isMain: boolean, options?: unknown) => string;
interface ModuleInternals {
  prototype: { _compile: CompileFn };
  wrap(source: string): string;
  _resolveFilename: ResolveFn;
  _resolveLookupPaths(request: string, parent: NodeModule): string[] | null;
  _extensions: NodeJS.RequireExtensions;
  _cache: NodeJS.Require['cache'];
}
// The CommonJS Module class, as this module's own `module` object knows it: `require('node:module')`
// would load Node's ESM loader and source-map support into every start.
const ModuleInternal = module.constructor as unknown as ModuleInternals;

/**
 * Installs the consumer for modules under `packageRoot` (its `dist/` and `node_modules/`),
 * with the cache file in `dir`. Does nothing when there is none or it is unusable. Call once,
 * before the modules it should cover are loaded.
 */
export function installCodeCache(packageRoot: string, dir: string): void {
  if (sourceMapsRequested()) return;
  const file = codeCacheFile(dir);
  const cache = readCacheFile(file);
  if (cache === undefined) return;
  stats.file = file;
  const { header, data } = cache;
  const original = ModuleInternal.prototype._compile;
  const prefix = packageRoot.endsWith(path.sep) ? packageRoot : packageRoot + path.sep;
  ModuleInternal.prototype._compile = function compileWithCache(this: NodeModule, content: string, filename: string): unknown {
    const entry = filename.startsWith(prefix) ? header.entries[filename.slice(prefix.length)] : undefined;
    if (entry === undefined) return original.call(this, content, filename);
    if (sha1(content) !== entry.sha1) {
      stats.stale++;
      return original.call(this, content, filename);
    }
    const script = new vm.Script(ModuleInternal.wrap(content), { filename, cachedData: data.subarray(entry.offset, entry.offset + entry.length) });
    if (script.cachedDataRejected === true) {
      // Most likely made under other V8 flags or another V8: the rest would be rejected too.
      stats.rejected++;
      releaseCodeCache();
    } else {
      stats.used++;
    }
    return runWrapped(this, script, filename);
  };
  const originalResolve = ModuleInternal._resolveFilename;
  const resolutions = header.resolutions ?? {};
  ModuleInternal._resolveFilename = function resolveFromRecord(request, parent, isMain, options): string {
    const from = parent?.filename;
    if (options === undefined && !isMain && typeof from === 'string' && from.startsWith(prefix)) {
      const rel = resolutions[resolutionKey(path.dirname(from.slice(prefix.length)), request)];
      if (rel !== undefined) {
        const target = prefix + rel;
        if (fs.statSync(target, { throwIfNoEntry: false })?.isFile() === true) {
          stats.resolved++;
          return target;
        }
      }
    }
    return originalResolve.call(this, request, parent, isMain, options);
  };
  uninstall = () => {
    ModuleInternal.prototype._compile = original;
    ModuleInternal._resolveFilename = originalResolve;
  };
}

/** Key of one recorded resolution: the requiring module's directory and the request, as Node's own relative-resolve cache keys them. */
function resolutionKey(parentDir: string, request: string): string {
  return `${parentDir}\0${request}`;
}

/**
 * Puts Node's own compile back and lets the cache file's buffer go (~0.75 MiB). bin/legate calls
 * it once the entry module has loaded: start-up has loaded what the cache holds by then (modules
 * loaded later, on first use, were not loaded by the producer's run either).
 */
export function releaseCodeCache(): void {
  uninstall?.();
  uninstall = undefined;
}

/**
 * Installs the producer: modules under `packageRoot`'s `dist/` and `node_modules/` compile with
 * `vm.Script`, and at exit their cached data is written to the cache file for this tag in `dir`.
 * Build time only (scripts/build-code-cache.js).
 */
export function produceCodeCache(packageRoot: string, dir: string): void {
  const prefix = packageRoot.endsWith(path.sep) ? packageRoot : packageRoot + path.sep;
  const scripts = new Map<string, { script: vm.Script; sha1: string }>();
  const original = ModuleInternal.prototype._compile;
  ModuleInternal.prototype._compile = function compileForCache(this: NodeModule, content: string, filename: string): unknown {
    const rel = filename.startsWith(prefix) ? filename.slice(prefix.length) : undefined;
    // A dynamic import() would need an importModuleDynamically callback that vm.Script does
    // not get from the CommonJS loader: such modules stay with Node's own compile.
    if (rel === undefined || !/^(dist|node_modules)[/\\]/.test(rel) || !filename.endsWith('.js') || content.includes('import(')) {
      return original.call(this, content, filename);
    }
    const script = new vm.Script(ModuleInternal.wrap(content), { filename });
    scripts.set(rel, { script, sha1: sha1(content) });
    return runWrapped(this, script, filename);
  };
  // How requests from modules of this package resolved to files of this package (builtins and
  // files elsewhere are left to Node, which answers builtins without touching the disk).
  const resolutions: Record<string, string> = {};
  const originalResolve = ModuleInternal._resolveFilename;
  ModuleInternal._resolveFilename = function recordResolution(request, parent, isMain, options): string {
    const resolved = originalResolve.call(this, request, parent, isMain, options);
    const from = parent?.filename;
    if (options === undefined && !isMain && typeof from === 'string' && from.startsWith(prefix) && resolved.startsWith(prefix)) {
      resolutions[resolutionKey(path.dirname(from.slice(prefix.length)), request)] = resolved.slice(prefix.length);
    }
    return resolved;
  };
  process.once('exit', () => {
    const entries: Record<string, Entry> = {};
    const chunks: Buffer[] = [];
    let offset = 0;
    for (const [rel, { script, sha1: hash }] of scripts) {
      const d = script.createCachedData();
      entries[rel] = { sha1: hash, offset, length: d.length };
      chunks.push(d);
      offset += d.length;
    }
    const header = Buffer.from(JSON.stringify({ tag: v8Tag(), entries, resolutions } satisfies Header));
    const lead = Buffer.alloc(MAGIC.length + 4);
    lead.write(MAGIC, 0, 'latin1');
    lead.writeUInt32LE(header.length, MAGIC.length);
    fs.mkdirSync(dir, { recursive: true });
    const file = codeCacheFile(dir);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, Buffer.concat([lead, header, ...chunks]));
    fs.renameSync(tmp, file);
  });
}

/**
 * True when `dir` holds a cache for the V8 tag a start of this node runs under (its flags with
 * the optimizing compiler held off, startup-tiering.ts) whose every entry still matches its
 * module under `packageRoot` (the build skips remaking it then).
 */
export function codeCacheIsCurrent(packageRoot: string, dir: string): boolean {
  const cache = readCacheFile(codeCacheFile(dir));
  // A cache from before resolutions were recorded is remade, so that they are.
  if (cache === undefined || cache.header.tag !== startupCodeCacheTag() || cache.header.resolutions === undefined) return false;
  const names = Object.keys(cache.header.entries);
  if (names.length === 0) return false;
  return names.every((rel) => {
    try {
      return sha1(fs.readFileSync(path.join(packageRoot, rel), 'utf8')) === cache.header.entries[rel]!.sha1;
    } catch {
      return false;
    }
  });
}

function readCacheFile(file: string): { header: Header; data: Buffer } | undefined {
  try {
    const buf = fs.readFileSync(file);
    if (buf.length < MAGIC.length + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
    const headerLength = buf.readUInt32LE(MAGIC.length);
    const start = MAGIC.length + 4;
    if (start + headerLength > buf.length) return undefined;
    const header = JSON.parse(buf.toString('utf8', start, start + headerLength)) as Header;
    if (typeof header.entries !== 'object' || header.entries === null) return undefined;
    if (header.resolutions !== undefined && (typeof header.resolutions !== 'object' || header.resolutions === null)) return undefined;
    const data = buf.subarray(start + headerLength);
    for (const e of Object.values(header.entries)) {
      if (!Number.isInteger(e.offset) || !Number.isInteger(e.length) || e.offset < 0 || e.offset + e.length > data.length) return undefined;
    }
    return { header, data };
  } catch {
    return undefined;
  }
}

function sourceMapsRequested(): boolean {
  return process.execArgv.includes('--enable-source-maps') || (process.env['NODE_OPTIONS'] ?? '').includes('--enable-source-maps');
}

function sha1(text: string): string {
  return crypto.createHash('sha1').update(text).digest('hex');
}

/** Runs a module's wrapper function as Node's loader does (same arguments, same `this`). */
function runWrapped(mod: NodeModule, script: vm.Script, filename: string): unknown {
  const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
  return wrapper.call(mod.exports, mod.exports, requireFor(mod), mod, filename, path.dirname(filename));
}

/** The `require` a module sees (Node's makeRequireFunction, with public pieces). */
function requireFor(mod: NodeModule): NodeJS.Require {
  const req = ((id: string) => mod.require(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: { paths?: string[] }) => ModuleInternal._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => ModuleInternal._resolveLookupPaths(request, mod);
  req.resolve = resolve;
  req.main = require.main;
  req.extensions = ModuleInternal._extensions;
  req.cache = ModuleInternal._cache;
  return req;
}
