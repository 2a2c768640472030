/**
 * Reading `iptables-save` output: which ISTIO_* chains exist, what is in them, and which rules
 * jump to them. Mirrors istio's `GetStateFromSave`, `HasIstioLeftovers` and
 * `BuildCleanupFromState` (`istio/istio:tools/istio-iptables/pkg/{builder,capture}/`).
 *
 * The saved text of a rule is not the text we wrote (iptables adds `-m tcp`, reorders matches,
 * prints marks in hex), so rules are compared with `iptables -C`, never textually.
 */
/** table → chain → rule lines (`-A CHAIN ...`). Holds ISTIO_* chains (even empty) and every chain with rules. */
export type SaveState = Map<string, Map<string, string[]>>;

const TABLES = ['filter', 'nat', 'mangle', 'raw'];

/** Parses iptables-save (or iptables-restore) text. */
export function parseSave(text: string): SaveState {
  const state: SaveState = new Map(TABLES.map((t) => [t, new Map<string, string[]>()]));
  let table = '';
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l === '' || l.startsWith('#') || l === 'COMMIT') continue;
    if (l.startsWith('*')) { table = l.slice(1).trim(); continue; }
    const chains = state.get(table);
    if (!chains) continue;
    if (l.startsWith(':')) {
      const chain = (l.split(' ')[0] ?? '').slice(1);
      if (chain.startsWith('ISTIO') && !chains.has(chain)) chains.set(chain, []);
      continue;
    }
    const words = l.split(' ');
    const verb = words[0];
    const chain = unquote(words[1] ?? '');
    if (verb === '-N' || verb === '--new') {
      if (chain.startsWith('ISTIO') && !chains.has(chain)) chains.set(chain, []);
    } else if (verb === '-A' || verb === '--append' || verb === '-I' || verb === '--insert') {
      const list = chains.get(chain) ?? [];
      list.push(l);
      chains.set(chain, list);
    }
  }
  return state;
}

function unquote(s: string): string {
  return s.replace(/^['"]|['"]$/g, '');
}

/** The ISTIO_* chain names per table. */
export function istioChains(state: SaveState): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [table, chains] of state) {
    const ours = [...chains.keys()].filter((c) => c.startsWith('ISTIO_'));
    if (ours.length) out.set(table, ours);
  }
  return out;
}

/** The jump target of a saved rule, if any. */
function jumpTarget(rule: string): string | undefined {
  const words = splitRule(rule);
  const i = words.findIndex((w) => w === '-j' || w === '--jump');
  return i >= 0 ? unquote(words[i + 1] ?? '') : undefined;
}

/** Splits a saved rule into arguments, honouring the double quotes iptables-save writes. */
export function splitRule(rule: string): string[] {
  const out: string[] = [];
  for (const m of rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? ''));
  return out;
}

/** Human-readable leftovers ("nat ISTIO_OUTPUT", "nat OUTPUT → ISTIO_OUTPUT"); empty when clean. */
export function describeLeftovers(state: SaveState): string[] {
  const out: string[] = [];
  for (const [table, chains] of state) {
    for (const [chain, rules] of chains) {
      if (chain.startsWith('ISTIO_')) out.push(`${table} chain ${chain}`);
      else for (const r of rules) if (jumpTarget(r)?.startsWith('ISTIO_')) out.push(`${table}: ${r}`);
    }
  }
  return out;
}

/**
 * Commands that remove every ISTIO_* chain and every jump to one, whatever flags created them:
 * jumps from other chains are deleted first, then all our chains are flushed, then deleted
 * (flushing all before deleting any, so chains that reference each other can go).
 */
export function leftoverCleanupCommands(state: SaveState): string[][] {
  const deletes: string[][] = [];
  const flushes: string[][] = [];
  const removes: string[][] = [];
  for (const [table, chains] of state) {
    for (const [chain, rules] of chains) {
      if (chain.startsWith('ISTIO_')) {
        flushes.push(['-t', table, '-F', chain]);
        removes.push(['-t', table, '-X', chain]);
        continue;
      }
      for (const r of rules) {
        if (!jumpTarget(r)?.startsWith('ISTIO_')) continue;
        const [, ruleChain, ...spec] = splitRule(r);
        deletes.push(['-t', table, '-D', ruleChain ?? chain, ...spec]);
      }
    }
  }
  return [...deletes, ...flushes, ...removes];
}

/**
 * istio's quick comparison before the `-C` checks: the same ISTIO_* chains exist, each with the
 * same number of rules, and every built-in chain we add rules to has some
 * (built-in chains appear in a parsed state only when they hold rules).
 */
export function sameShape(current: SaveState, expected: SaveState): boolean {
  for (const [table, chains] of expected) {
    const cur = current.get(table);
    for (const [chain, rules] of chains) {
      const have = cur?.get(chain);
      if (!have) return false;
      if (chain.startsWith('ISTIO_') && have.length !== rules.length) return false;
    }
  }
  for (const [table, chains] of current) {
    for (const chain of chains.keys()) {
      if (chain.startsWith('ISTIO_') && !expected.get(table)?.has(chain)) return false;
    }
  }
  return true;
}
