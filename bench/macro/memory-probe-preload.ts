/**
 * Preloaded into a Legate process by bench/macro/idle-and-startup.ts only
 * (`node --expose-gc -r dist/bench/macro/memory-probe-preload.js bin/legate …`); never part of
 * Legate itself. On SIGUSR2 it runs two full GCs and writes one JSON line with the process's
 * memory and the number of loaded modules to the file named by LEGATE_BENCH_PROBE_OUT.
 */
import fs from 'node:fs';

const out = process.env['LEGATE_BENCH_PROBE_OUT'];
if (out !== undefined) {
  process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    const modules = Object.keys(require.cache);
    const has = (pkg: string): boolean => modules.some((k) => k.includes(`/node_modules/${pkg}/`));
    const line = {
      gc: gc !== undefined,
      rssMiB: m.rss / 2 ** 20,
      heapUsedMiB: m.heapUsed / 2 ** 20,
      heapTotalMiB: m.heapTotal / 2 ** 20,
      modules: modules.length,
      undici: has('undici'),
      grpcJs: has('@grpc/grpc-js'),
    };
    fs.appendFileSync(out, `${JSON.stringify(line)}\n`);
  });
}
