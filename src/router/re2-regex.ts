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

/**
 * Compiles an RE2 pattern for search-and-replace-all (RE2::GlobalReplace, as regex_rewrite
 * uses it), and turns its RE2 substitution (`\1`, `\0`) into JavaScript's (`$1`, `$&`).
 */
export function compileRe2Rewrite(pattern: string, substitution: string): { ok: true; regex: RegExp; replacement: string } | { ok: false; error: string } {
  const full = compileRe2(pattern);
  if (!full.ok) return full;
  const regex = new RegExp(pattern.replace(/\(\?P</g, '(?<'), 'g');
  const replacement = substitution.replace(/\$/g, '$$$$').replace(/\\(\d)/g, (_m, d: string) => (d === '0' ? '$&' : `$${d}`));
  return { ok: true, regex, replacement };
}
