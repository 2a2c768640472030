/**
 * Preloaded into a Legate process by tests and bench/macro/idle-and-startup.ts only
 * (`node -r dist/test/fakes/memory-probe-preload.js bin/legate …`); never part of
 * Legate itself. On SIGUSR2 it runs two full GCs and appends one
 * JSON line ({@link MemoryProbe}) to the file named by LEGATE_MEMORY_PROBE_OUT.
 *
 * Without `--expose-gc` it turns the flag on at the first probe instead: with a V8 flag on the
 * command line V8 would reject Legate's code cache (src/common/code-cache.ts), and the start
 * measured would not be the start users get.
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { CodeCacheStats } from '../../src/common/code-cache';

/** The global `gc`, enabled on first use when node was started without `--expose-gc`. */
function fullGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as (() => void) | undefined;
}

const out = process.env['LEGATE_MEMORY_PROBE_OUT'];
if (out !== undefined) {
  process.on('SIGUSR2', () => {
    const gc = fullGc();
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    const modules = Object.keys(require.cache);
    const has = (pkg: string): boolean => modules.some((k) => k.includes(`/node_modules/${pkg}/`));
    const line: MemoryProbe = {
      gc: gc !== undefined,
      rssMiB: m.rss / 2 ** 20,
      heapUsedMiB: m.heapUsed / 2 ** 20,
      heapTotalMiB: m.heapTotal / 2 ** 20,
      modules: modules.length,
      undici: has('undici'),
      grpcJs: has('@grpc/grpc-js'),
      yaml: has('yaml'),
      codeCache: codeCacheOf(modules),
      legateModules: modules.map((k) => /[/\\]dist[/\\]src[/\\](.*)$/.exec(k)?.[1]?.replace(/\\/g, '/')).filter((m): m is string => m !== undefined).sort(),
      packages: [...new Set(modules.map((k) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(k)?.[1]).filter((p): p is string => p !== undefined))].sort(),
    };
    fs.appendFileSync(out, `${JSON.stringify(line)}\n`);
  });
}

/** What Legate's code cache did, read from its module in require.cache (undefined if not loaded). */
function codeCacheOf(modules: readonly string[]): CodeCacheStats | undefined {
  const id = modules.find((k) => k.endsWith(['', 'dist', 'src', 'common', 'code-cache.js'].join('/')));
  const mod = id === undefined ? undefined : (require.cache[id]?.exports as typeof import('../../src/common/code-cache') | undefined);
  return mod?.codeCacheStats();
}

/** One reading. */
export interface MemoryProbe {
  /** Whether the two GCs ran. */
  readonly gc: boolean;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly heapTotalMiB: number;
  /** Entries of require.cache. */
  readonly modules: number;
  readonly undici: boolean;
  readonly grpcJs: boolean;
  readonly yaml: boolean;
  /** Legate's own modules loaded, relative to dist/src (`upstream/cluster.js`). */
  readonly legateModules: readonly string[];
  /** Legate's code cache in this process (src/common/code-cache.ts). */
  readonly codeCache: CodeCacheStats | undefined;
  /** Packages under node_modules with at least one loaded file. */
  readonly packages: readonly string[];
}
