/**
 * Preloaded into a Legate process by tests and bench/macro/idle-and-startup.ts only
 * (`node --expose-gc -r dist/test/fakes/memory-probe-preload.js bin/legate …`); never part of
 * Legate itself. On SIGUSR2 it runs two full GCs (when `--expose-gc` is given) and appends one
 * JSON line ({@link MemoryProbe}) to the file named by LEGATE_MEMORY_PROBE_OUT.
 */
import fs from 'node:fs';

const out = process.env['LEGATE_MEMORY_PROBE_OUT'];
if (out !== undefined) {
  process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
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
      packages: [...new Set(modules.map((k) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(k)?.[1]).filter((p): p is string => p !== undefined))].sort(),
    };
    fs.appendFileSync(out, `${JSON.stringify(line)}\n`);
  });
}

/** One reading. */
export interface MemoryProbe {
  /** Whether the two GCs ran (node started with `--expose-gc`). */
  readonly gc: boolean;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly heapTotalMiB: number;
  /** Entries of require.cache. */
  readonly modules: number;
  readonly undici: boolean;
  readonly grpcJs: boolean;
  readonly yaml: boolean;
  /** Packages under node_modules with at least one loaded file. */
  readonly packages: readonly string[];
}
