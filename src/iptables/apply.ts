/**
 * Applying and removing one family's rules in a live network namespace.
 *
 * Apply is safe to repeat, as istio's `executeCommands` with `--reconcile`: read the current
 * state; if none of our chains or jumps exist, restore the rules; if exactly our rules are
 * already there (same ISTIO_* chains and rule counts, and `iptables -C` finds every rule), do
 * nothing; otherwise remove what is there (our rules undone, then every ISTIO_* jump and chain
 * left over) and restore. The restore itself is one `iptables-restore --noflush` transaction,
 * so a failure leaves the tables as they were.
 */
import type { IptablesError } from './errors';
import { CleanupIncompleteError } from './errors';
import { runTool, type IptablesTool } from './iptables-tool';
import { buildRestore, checkCommands, undoCommands, type Rule } from './rule-set';
import type { CommandRunner } from './runner';
import { describeLeftovers, leftoverCleanupCommands, parseSave, sameShape } from './save-state';

/** What {@link applyRules} did. */
export type ApplyOutcome =
  /** The namespace had nothing of ours; the rules were restored. */
  | 'applied'
  /** Exactly these rules were already in place; nothing was changed. */
  | 'unchanged'
  /** Different or partial rules of ours were there; they were removed and the rules restored. */
  | 'replaced';

/** True when every rule is present (`iptables -C`). */
async function allPresent(runner: CommandRunner, tool: IptablesTool, rules: readonly Rule[]): Promise<boolean> {
  for (const args of checkCommands(rules)) {
    const r = await runner.run(tool.binary, [...args, ...tool.waitArgs]);
    if (r.code !== 0) return false;
  }
  return true;
}

/**
 * Installs `rules` with `tool`, as described above.
 * @param forceApply replace the rules even when they are already in place (`--force-apply`)
 */
export async function applyRules(
  runner: CommandRunner,
  tool: IptablesTool,
  rules: readonly Rule[],
  forceApply: boolean,
): Promise<ApplyOutcome | IptablesError> {
  const payload = buildRestore(rules);
  const saved = await runTool(runner, tool.save, []);
  if (typeof saved !== 'string') return saved;
  const current = parseSave(saved);
  const dirty = describeLeftovers(current).length > 0;
  if (dirty) {
    if (!forceApply && sameShape(current, parseSave(payload)) && (await allPresent(runner, tool, rules))) return 'unchanged';
    const removed = await removeRules(runner, tool, rules);
    if (removed !== undefined) return removed;
  }
  if (payload !== '') {
    const restored = await runTool(runner, tool.restore, ['--noflush', ...tool.waitArgs], payload);
    if (typeof restored !== 'string') return restored;
  }
  return dirty ? 'replaced' : 'applied';
}

/**
 * Removes our rules: first the undo commands of `rules` (istio's `--cleanup-only`, which also
 * removes our rules in built-in chains that are not jumps, such as TPROXY's CONNMARK rules), then
 * every ISTIO_* jump and chain still present, whatever flags created them. Individual failures
 * are expected (the rule may not exist) and ignored; what matters is the final state.
 * @returns undefined when nothing of ours is left, else the error
 */
export async function removeRules(runner: CommandRunner, tool: IptablesTool, rules: readonly Rule[]): Promise<IptablesError | undefined> {
  for (const args of undoCommands(rules)) await runner.run(tool.binary, [...args, ...tool.waitArgs]);
  const saved = await runTool(runner, tool.save, []);
  if (typeof saved !== 'string') return saved;
  for (const args of leftoverCleanupCommands(parseSave(saved))) await runner.run(tool.binary, [...args, ...tool.waitArgs]);
  const after = await runTool(runner, tool.save, []);
  if (typeof after !== 'string') return after;
  const left = describeLeftovers(parseSave(after));
  return left.length ? new CleanupIncompleteError(left.map((l) => `${tool.binary}: ${l}`)) : undefined;
}
