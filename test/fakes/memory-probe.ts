/**
 * Asking a Legate process started with the probe preload (memory-probe-preload.ts) for a
 * reading: SIGUSR2, then wait for its line in the probe file.
 */
import path from 'node:path';
import { readCompleteLines } from './complete-lines';
import type { MemoryProbe } from './memory-probe-preload';

/** The preload, for `nodeArgs: ['--expose-gc', '-r', MEMORY_PROBE_PRELOAD]` (with LEGATE_MEMORY_PROBE_OUT set). */
export const MEMORY_PROBE_PRELOAD = path.join(__dirname, 'memory-probe-preload.js');

export async function readMemoryProbe(pid: number, probeFile: string, timeoutMs = 5000): Promise<MemoryProbe> {
  // A reading can be long (the loaded modules), and the file may be read while the preload is
  // still writing one.
  const lines = (): string[] => readCompleteLines(probeFile);
  const seen = lines().length;
  process.kill(pid, 'SIGUSR2');
  for (const until = performance.now() + timeoutMs; performance.now() < until;) {
    await new Promise((r) => setTimeout(r, 10));
    const now = lines();
    if (now.length > seen) return JSON.parse(now[now.length - 1]!) as MemoryProbe;
  }
  throw new Error(`no answer from the memory probe preload of process ${pid} within ${timeoutMs} ms`);
}
