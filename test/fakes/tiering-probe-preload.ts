/**
 * Preloaded into Legate processes by test/integration/startup-tiering.test.ts only: appends one
 * JSON line ({@link TieringCall}) per `v8.setFlagsFromString` call to the file named by
 * LEGATE_TIERING_PROBE_OUT, with the functions on the stack, so a test can tell when and from
 * where the optimizing compiler was held off and released (src/common/startup-tiering.ts).
 * `--concurrency` workers inherit the preload and the variable and write their own lines.
 */
import fs from 'node:fs';
import v8 from 'node:v8';

/** One call. */
export interface TieringCall {
  readonly pid: number;
  readonly flags: string;
  /** Function names on the stack, innermost first. */
  readonly stack: readonly string[];
}

const out = process.env['LEGATE_TIERING_PROBE_OUT'];
if (out !== undefined) {
  const original = v8.setFlagsFromString.bind(v8);
  v8.setFlagsFromString = (flags: string): void => {
    const stack = (new Error().stack ?? '').split('\n').slice(2).map((l) => /at (?:async )?([\w.<>]+) \(/.exec(l)?.[1]).filter((f): f is string => f !== undefined);
    fs.appendFileSync(out, `${JSON.stringify({ pid: process.pid, flags, stack } satisfies TieringCall)}\n`);
    original(flags);
  };
}
