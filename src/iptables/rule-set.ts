/**
 * The rule list and its renderings, mirroring istio's `IptablesRuleBuilder`
 * (`istio/istio:tools/istio-iptables/pkg/builder/iptables_builder_impl.go`): rules are recorded
 * per IP family in the order the capture logic adds them, and rendered as
 * - the iptables-restore payload (`buildRestore`): per table, `-N` for every non-built-in chain
 *   in order of first use (chains with rules first, then chains only jumped to), then the rules;
 *   tables in alphabetical order, empty tables left out;
 * - `-C` commands that check each rule is present (`checkCommands`);
 * - the commands that undo them (`undoCommands`), as istio's cleanup does.
 */

/** Tables we write to. */
export type Table = 'filter' | 'mangle' | 'nat' | 'raw';

/** One rule: `params` starts with `-A <chain>` or `-I <chain> <pos>`. */
export interface Rule {
  readonly chain: string;
  readonly table: Table;
  readonly params: readonly string[];
}

/** Chains and targets iptables defines itself; never created or deleted by us. */
export const BUILT_IN_CHAINS_AND_TARGETS: ReadonlySet<string> = new Set([
  'INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING', 'ACCEPT', 'RETURN', 'DROP',
]);

/** Stands for the family-specific address in {@link RuleSet.appendVersioned}. */
export const IP_VERSION_SPECIFIC = Symbol('ip-version-specific');
type Param = string | typeof IP_VERSION_SPECIFIC;

/** Records rules for IPv4 and (when enabled) IPv6. */
export class RuleSet {
  readonly v4: Rule[] = [];
  readonly v6: Rule[] = [];

  /** @param ipv6 record IPv6 rules too (istio's `EnableIPv6`). */
  constructor(private readonly ipv6: boolean) {}

  appendV4(chain: string, table: Table, ...params: string[]): void {
    this.v4.push({ chain, table, params: ['-A', chain, ...params] });
  }

  appendV6(chain: string, table: Table, ...params: string[]): void {
    if (this.ipv6) this.v6.push({ chain, table, params: ['-A', chain, ...params] });
  }

  /** Appends to both families. */
  append(chain: string, table: Table, ...params: string[]): void {
    this.appendV4(chain, table, ...params);
    this.appendV6(chain, table, ...params);
  }

  insertV4(chain: string, table: Table, position: number, ...params: string[]): void {
    this.v4.push({ chain, table, params: ['-I', chain, String(position), ...params] });
  }

  insertV6(chain: string, table: Table, position: number, ...params: string[]): void {
    if (this.ipv6) this.v6.push({ chain, table, params: ['-I', chain, String(position), ...params] });
  }

  /** Inserts into both families. */
  insert(chain: string, table: Table, position: number, ...params: string[]): void {
    this.insertV4(chain, table, position, ...params);
    this.insertV6(chain, table, position, ...params);
  }

  /** Appends to both families, {@link IP_VERSION_SPECIFIC} replaced by `v4` or `v6`. */
  appendVersioned(v4: string, v6: string, chain: string, table: Table, ...params: Param[]): void {
    this.appendV4(chain, table, ...params.map((p) => (p === IP_VERSION_SPECIFIC ? v4 : p)));
    this.appendV6(chain, table, ...params.map((p) => (p === IP_VERSION_SPECIFIC ? v6 : p)));
  }
}

/** The chain a rule jumps to when `-j <chain>` ends it (the only form istio looks at). */
function trailingJump(r: Rule): string | undefined {
  const n = r.params.length;
  return n >= 2 && r.params[n - 2] === '-j' ? r.params[n - 1] : undefined;
}

/** Non-built-in chains per table, in the order istio emits their `-N` lines. */
export function chainsToCreate(rules: readonly Rule[]): Map<Table, string[]> {
  const out = new Map<Table, string[]>();
  const seen = new Set<string>();
  const add = (table: Table, chain: string) => {
    const key = `${chain}:${table}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (BUILT_IN_CHAINS_AND_TARGETS.has(chain)) return;
    const list = out.get(table) ?? [];
    list.push(chain);
    out.set(table, list);
  };
  for (const r of rules) add(r.table, r.chain);
  for (const r of rules) {
    const target = trailingJump(r);
    if (target !== undefined) add(r.table, target);
  }
  return out;
}

/** The iptables-restore payload for one family; empty when there are no rules. */
export function buildRestore(rules: readonly Rule[]): string {
  const lines = new Map<string, string[]>();
  for (const [table, chains] of chainsToCreate(rules)) {
    lines.set(table, chains.map((c) => `-N ${c}`));
  }
  for (const r of rules) {
    const list = lines.get(r.table) ?? [];
    list.push(r.params.join(' '));
    lines.set(r.table, list);
  }
  let out = '';
  for (const table of [...lines.keys()].sort()) {
    const body = lines.get(table) ?? [];
    if (body.length === 0) continue;
    out += `* ${table}\n${body.join('\n')}\nCOMMIT\n`;
  }
  return out;
}

/** `-t <table> -C <chain> ...` for every rule: all succeed when the rules are in place. */
export function checkCommands(rules: readonly Rule[]): string[][] {
  return rules.map((r) => ['-t', r.table, ...replaceAction(r.params, '-C')]);
}

/** Replaces `-A chain` / `-I chain pos` by `<action> chain`. */
function replaceAction(params: readonly string[], action: string): string[] {
  const [verb, chain, ...rest] = params;
  if (verb === '-I') return [action, chain ?? '', ...rest.slice(1)];
  return [action, chain ?? '', ...rest];
}

/**
 * The commands that remove these rules (istio's `BuildCleanupV4/V6`): in reverse order, `-D` for
 * every rule outside our chains and every jump to one of them, then `-F` and `-X` for each of
 * our chains. Each may fail harmlessly when the rule or chain is already gone.
 */
export function undoCommands(rules: readonly Rule[]): string[][] {
  const reversed = [...rules].reverse();
  const out: string[][] = [];
  for (const r of reversed) {
    const inOurChain = r.chain.startsWith('ISTIO_');
    const jumpsToOurs = r.params.some((p, i) => p === '-j' && (r.params[i + 1] ?? '').startsWith('ISTIO_'));
    if (inOurChain && !jumpsToOurs) continue; // flushed below
    out.push(['-t', r.table, ...replaceAction(r.params, '-D')]);
  }
  const seen = new Set<string>();
  for (const r of reversed) {
    const key = `${r.chain}:${r.table}`;
    if (seen.has(key) || BUILT_IN_CHAINS_AND_TARGETS.has(r.chain)) continue;
    seen.add(key);
    out.push(['-t', r.table, '-F', r.chain], ['-t', r.table, '-X', r.chain]);
  }
  return out;
}
