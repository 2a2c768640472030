/**
 * The bootstrap's `stats_config` (envoy.config.metrics.v3.StatsConfig), read from the decoded
 * bootstrap: `use_all_default_tags`, `stats_tags` (regex or fixed value) and `stats_matcher`
 * (`reject_all`, `inclusion_list`, `exclusion_list` of StringMatchers). Istio's bootstrap uses
 * all three (`tools/packaging/common/envoy_bootstrap.json`).
 */
import { compileRe2 } from '../router/re2-regex';
import { TagProducer, type Tag, type TagSpecifier } from './tag-producer';

type Obj = Record<string, unknown>;

/** Decides whether a stat exists at all (Envoy rejects non-matching stats at creation). */
export type StatsMatcher = (name: string) => boolean;

export interface StatsSettings {
  readonly tagProducer: TagProducer;
  readonly matcher: StatsMatcher;
}

const ACCEPT_ALL: StatsMatcher = () => true;

/**
 * Builds the tag producer and matcher. `proto` is the decoded bootstrap (snake_case), `cliTags`
 * the `--stats-tag` values.
 * @throws Error with a message naming the field when a regex is invalid.
 */
export function statsSettings(proto: Obj | undefined, cliTags: readonly Tag[] = []): StatsSettings {
  const sc = (proto?.['stats_config'] ?? {}) as Obj;
  const useAll = unwrapBool(sc['use_all_default_tags']);
  const statsTags: TagSpecifier[] = [];
  for (const t of (sc['stats_tags'] ?? []) as Obj[]) {
    const name = String(t['tag_name'] ?? '');
    if (t['fixed_value'] !== undefined) statsTags.push({ name, fixedValue: String(t['fixed_value']) });
    else if (t['regex'] !== undefined && t['regex'] !== '') statsTags.push({ name, regex: String(t['regex']) });
    else statsTags.push({ name });
  }
  const tagProducer = new TagProducer({ ...(useAll === undefined ? {} : { useAllDefaultTags: useAll }), cliTags, statsTags });
  return { tagProducer, matcher: buildMatcher(sc['stats_matcher'] as Obj | undefined) };
}

function unwrapBool(v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') return unwrapBool((v as Obj)['value']);
  return v === true || v === 'true';
}

function buildMatcher(m: Obj | undefined): StatsMatcher {
  if (!m) return ACCEPT_ALL;
  if (m['reject_all'] === true) return () => false;
  const incl = m['inclusion_list'] as Obj | undefined;
  if (incl) {
    const list = stringMatchers(incl, 'stats_config.stats_matcher.inclusion_list');
    return (name) => list.some((f) => f(name));
  }
  const excl = m['exclusion_list'] as Obj | undefined;
  if (excl) {
    const list = stringMatchers(excl, 'stats_config.stats_matcher.exclusion_list');
    return (name) => !list.some((f) => f(name));
  }
  return ACCEPT_ALL;
}

function stringMatchers(list: Obj, path: string): Array<(s: string) => boolean> {
  return ((list['patterns'] ?? []) as Obj[]).map((p, i) => {
    const ic = p['ignore_case'] === true;
    const norm = (s: string): string => (ic ? s.toLowerCase() : s);
    if (p['exact'] !== undefined) { const v = norm(String(p['exact'])); return (s) => norm(s) === v; }
    if (p['prefix'] !== undefined) { const v = norm(String(p['prefix'])); return (s) => norm(s).startsWith(v); }
    if (p['suffix'] !== undefined) { const v = norm(String(p['suffix'])); return (s) => norm(s).endsWith(v); }
    if (p['contains'] !== undefined) { const v = norm(String(p['contains'])); return (s) => norm(s).includes(v); }
    const sr = p['safe_regex'] as Obj | undefined;
    if (sr) {
      const c = compileRe2(String(sr['regex'] ?? ''), ic ? 'i' : '');
      if (!c.ok) throw new Error(`${path}.patterns[${i}].safe_regex: ${c.error}`);
      return (s) => c.regex.test(s);
    }
    return () => false;
  });
}
