/**
 * Value parsers for command-line flags. Each returns the value or an error message that starts
 * with the flag's name, so `parseCommandLine` can report every problem at once.
 */
import { isLoggerName, parseLogLevel, type LogLevel } from '../common/logger';
import type { StatsTag } from './types';

/** A parsed value or the reason it was rejected. */
export type ValueResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const ok = <T>(value: T): ValueResult<T> => ({ ok: true, value });
const fail = <T>(error: string): ValueResult<T> => ({ ok: false, error });

const UINT32_MAX = 4_294_967_295;

/** Parses an unsigned 32-bit decimal integer, the type of Envoy's numeric flags (`uint32_t`). */
export function parseUint32(flag: string, text: string): ValueResult<number> {
  if (!/^[0-9]+$/.test(text)) return fail(`${flag}: expected a non-negative integer, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n > UINT32_MAX) return fail(`${flag}: ${text} is out of range (at most ${UINT32_MAX})`);
  return ok(n);
}

/** Accepts exactly one of `choices`. */
export function parseChoice<T extends string>(flag: string, text: string, choices: readonly T[]): ValueResult<T> {
  return (choices as readonly string[]).includes(text)
    ? ok(text as T)
    : fail(`${flag}: expected one of ${choices.join('|')}, got ${JSON.stringify(text)}`);
}

/** Parses a level as `-l` does: spdlog names plus `warn`. */
export function parseLevelValue(flag: string, text: string): ValueResult<LogLevel> {
  const level = parseLogLevel(text);
  return level !== undefined
    ? ok(level)
    : fail(`${flag}: expected one of trace|debug|info|warning|warn|error|critical|off, got ${JSON.stringify(text)}`);
}

/**
 * Parses `--component-log-level` (`upstream:debug,connection:trace`) as Envoy's
 * `parseComponentLogLevels` does: every comma-separated item must be exactly `name:level`, the
 * name one of Envoy's loggers, the level a `-l` level. An empty string means no overrides.
 */
export function parseComponentLevels(flag: string, text: string): ValueResult<Array<readonly [string, LogLevel]>> {
  const out: Array<readonly [string, LogLevel]> = [];
  if (text === '') return ok(out);
  for (const item of text.split(',')) {
    const parts = item.split(':');
    if (parts.length !== 2) return fail(`${flag}: expected name:level, got ${JSON.stringify(item)}`);
    const [name, levelText] = parts as [string, string];
    const level = parseLogLevel(levelText);
    if (level === undefined) return fail(`${flag}: invalid log level ${JSON.stringify(levelText)} in ${JSON.stringify(item)}`);
    if (!isLoggerName(name)) return fail(`${flag}: unknown component ${JSON.stringify(name)} in ${JSON.stringify(item)}`);
    out.push([name, level]);
  }
  return ok(out);
}

/**
 * Parses one `--stats-tag name:value` as Envoy does (`TagUtility::isTagNameValid` /
 * `isTagValueValid`): split at the first `:`; the name holds only letters, digits and `_`, the
 * value anything but `.`.
 */
export function parseStatsTag(flag: string, text: string): ValueResult<StatsTag> {
  const colon = text.indexOf(':');
  if (colon < 0) return fail(`${flag}: expected name:value, got ${JSON.stringify(text)}`);
  const name = text.slice(0, colon);
  const value = text.slice(colon + 1);
  if (!/^[A-Za-z0-9_]*$/.test(name)) {
    return fail(`${flag}: tag name ${JSON.stringify(name)} may only contain letters, digits and '_'`);
  }
  if (value.includes('.')) return fail(`${flag}: tag value ${JSON.stringify(value)} may not contain '.'`);
  return ok({ name, value });
}

/** Parses an octal file mode such as `600` or `0644` (`--socket-mode`). */
export function parseOctalMode(flag: string, text: string): ValueResult<number> {
  if (!/^[0-7]+$/.test(text)) return fail(`${flag}: expected an octal file mode such as 600, got ${JSON.stringify(text)}`);
  const n = parseInt(text, 8);
  if (n > UINT32_MAX) return fail(`${flag}: ${text} is out of range`);
  return ok(n);
}
