/**
 * V8's optimizing compiler (TurboFan) held off while Legate starts.
 *
 * Start-up code runs once: decoding the bootstrap, building clusters, listeners and stats. V8
 * still optimizes whatever gets warm in it, on a background thread, and that pages in the
 * compiler and its working memory for good. With a 100-service sidecar bootstrap that is ~4 MiB
 * of idle RSS and ~30 ms to `/ready` (bench/NOTES.md, "Start-up and idle memory"). So
 * `bin/legate` starts V8 with `--no-opt` (the interpreter and the baseline compiler still run),
 * and TurboFan comes back on:
 *  - once the server has started, before the first request (main.ts), or, in a `--concurrency`
 *    worker, once its first snapshot is applied: request code is optimized exactly as before;
 *  - as soon as the start has more than {@link BIG_CONFIG_BYTES} of configuration to decode
 *    (bootstrap file plus xDS responses): a decode that long is worth optimizing (4,000 services:
 *    2.0 s to `/ready` held, 1.7 s optimized);
 *  - at the latest {@link MAX_HOLD_MS} after the hold: a start that waits on a control plane
 *    (Istio's `initial_fetch_timeout: 0s` waits forever for a missing resource) may already be
 *    serving on the listeners it has.
 * A node started with its own tiering flags (`--no-opt`, `--max-opt`, `--jitless`, ...) is left
 * as it is.
 *
 * V8 tags cached code with its flags, so the code cache (code-cache.ts) is made and checked
 * under the held state too: {@link startupCodeCacheTag}.
 */
import v8 from 'node:v8';

/** Configuration bytes a start decodes before TurboFan is worth having for it. */
export const BIG_CONFIG_BYTES = 2 * 1024 * 1024;

/** The longest the hold lasts, ms (a 100-service static start takes ~0.3 s). */
export const MAX_HOLD_MS = 3000;

const HOLD_FLAG = '--no-opt';
const RELEASE_FLAG = '--opt';
/** Node/V8 flags by which a user chose a tiering of their own (NODE_OPTIONS may quote them). */
const USER_TIERING = /(^|[\s"'])--(no-)?(opt|turbofan|maglev|sparkplug|always-opt|always-turbofan|jitless|max-opt)\b/;

let held = false;
let configBytes = 0;

/** Whether the optimizing compiler is held off now. */
export function optimizingCompilerHeld(): boolean {
  return held;
}

/** Holds TurboFan off (bin/legate, before anything else loads). No-op under user tiering flags. */
export function holdOptimizingCompiler(): void {
  if (held || userChoseTiering()) return;
  v8.setFlagsFromString(HOLD_FLAG);
  held = true;
  setTimeout(releaseOptimizingCompiler, MAX_HOLD_MS).unref();
}

/** Turns TurboFan back on; idempotent. */
export function releaseOptimizingCompiler(): void {
  if (!held) return;
  v8.setFlagsFromString(RELEASE_FLAG);
  held = false;
}

/** Counts configuration about to be decoded; past {@link BIG_CONFIG_BYTES}, releases TurboFan. */
export function noteConfigBytes(bytes: number): void {
  if (!held) return;
  configBytes += bytes;
  if (configBytes > BIG_CONFIG_BYTES) releaseOptimizingCompiler();
}

/** V8's cached-data tag under the flags a start compiles with (what code-cache data must carry). */
export function startupCodeCacheTag(): number {
  if (held || userChoseTiering()) return v8.cachedDataVersionTag();
  v8.setFlagsFromString(HOLD_FLAG);
  try {
    return v8.cachedDataVersionTag();
  } finally {
    v8.setFlagsFromString(RELEASE_FLAG);
  }
}

function userChoseTiering(): boolean {
  return USER_TIERING.test(process.execArgv.join(' ')) || USER_TIERING.test(process.env['NODE_OPTIONS'] ?? '');
}
