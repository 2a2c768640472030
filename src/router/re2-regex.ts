/**
 * Envoy's `safe_regex` uses Google RE2. JavaScript regular expressions accept a
 * superset (lookaround, backreferences) that RE2 rejects, and a few RE2 spellings
 * differ. We reject what RE2 would reject, so a config that loads here also loads
 * in Envoy, and translate the harmless spelling differences.
 */

const RE2_UNSUPPORTED: ReadonlyArray<[RegExp, string]> = [
  [/\(\?=|\(\?!/, 'lookahead (?= / (?! is not supported by RE2'],
  [/\(\?<=|\(\?<!/, 'lookbehind (?<= / (?<! is not supported by RE2'],
  [/\\[1-9]/, 'backreferences (\\1..\\9) are not supported by RE2'],
  [/\\k</, 'named backreferences (\\k<name>) are not supported by RE2'],
];

export type CompiledRegex = { ok: true; regex: RegExp } | { ok: false; error: string };

/**
 * Compiles an RE2 pattern for a full match (Envoy's safe_regex matches the whole
 * input). Returns a clear error instead of throwing.
 */
export function compileRe2(pattern: string, flags = ''): CompiledRegex {
  for (const [re, why] of RE2_UNSUPPORTED) {
    if (re.test(pattern)) return { ok: false, error: `invalid regex "${pattern}": ${why}` };
  }
  // RE2 spells named groups (?P<name>...); JavaScript wants (?<name>...).
  const js = pattern.replace(/\(\?P</g, '(?<');
  try {
    return { ok: true, regex: new RegExp(`^(?:${js})$`, flags) };
  } catch (err) {
    return { ok: false, error: `invalid regex "${pattern}": ${(err as Error).message}` };
  }
}
