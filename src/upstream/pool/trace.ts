/**
 * Opt-in trace output for the pool, switched on by `LEGATE_TRACE=pool` (a comma-separated list,
 * `all` or `*` enables every component), read once at load.
 *
 * Call sites guard with the constant: `if (POOL_TRACE) trace('pool', \`...\`)`, so nothing,
 * not even the message string, is built when tracing is off.
 */

function enabled(component: string): boolean {
  const list = process.env['LEGATE_TRACE'];
  if (list === undefined || list === '') return false;
  for (const item of list.split(',')) {
    const name = item.trim();
    if (name === component || name === 'all' || name === '*') return true;
  }
  return false;
}

/** True when `LEGATE_TRACE` names `pool`. */
export const POOL_TRACE: boolean = enabled('pool');

/** Writes one trace line to stderr. Callers check the component's flag first. */
export function trace(component: string, message: string): void {
  process.stderr.write(`${new Date().toISOString()} [legate:${component}] ${message}\n`);
}
