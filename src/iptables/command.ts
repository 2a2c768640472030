/**
 * `legate iptables`: the sidecar init step (istio-iptables' flags and rules). Parses the flags,
 * builds the rules, then prints them (`--dry-run`), removes ours (`--cleanup`), or applies them.
 * The one place where errors become output and an exit code: 0 done, 1 anything else.
 */
import { writeFileSync } from 'node:fs';
import { applyRules, removeRules, type ApplyOutcome } from './apply';
import type { CaptureConfig } from './capture-config';
import { buildCaptureRules } from './capture-rules';
import { IptablesError } from './errors';
import { parseIptablesArgs } from './flags';
import { systemHostFacts, type HostFacts } from './host-facts';
import { detectIptables, type IptablesTool } from './iptables-tool';
import { resolveCaptureConfig } from './resolve-config';
import { buildRestore, undoCommands, type Rule, type RuleSet } from './rule-set';
import { commandLine, inNetworkNamespace, systemRunner, type CommandRunner } from './runner';
import { configureRoutes, plannedRouteCommands, removeRoutes } from './tproxy-routes';
import { iptablesUsage } from './usage';

/** Everything the command touches outside itself; tests replace any of it. */
export interface IptablesCommandIo {
  /** Environment variables (istio's env equivalents of the flags). Default: process.env. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Rules and help go here. Default: process.stdout. */
  readonly stdout: (text: string) => void;
  /** Progress, warnings and errors go here. Default: process.stderr. */
  readonly stderr: (text: string) => void;
  /** IPv6, nameservers, users. Default: this machine. */
  readonly facts: HostFacts;
  /** Runs iptables*, ip, nsenter. Default: child processes. */
  readonly runner: CommandRunner;
}

const PREFIX = 'legate iptables';

/**
 * Runs `legate iptables <argv>`.
 * @param argv the arguments after `iptables`
 * @returns the process exit code
 */
export async function runIptablesCommand(argv: readonly string[], io: Partial<IptablesCommandIo> = {}): Promise<number> {
  const out = io.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => void process.stderr.write(s));
  const say = (msg: string) => err(`${PREFIX}: ${msg}\n`);

  const parsed = parseIptablesArgs(argv, io.env ?? process.env);
  if (parsed.help) {
    out(iptablesUsage());
    return 0;
  }
  for (const w of parsed.warnings) say(`warning: ${w}`);
  if (parsed.errors.length) {
    for (const e of parsed.errors) say(`error: ${e}`);
    err(`run "legate iptables --help" for usage\n`);
    return 1;
  }
  const o = parsed.options;
  const resolved = resolveCaptureConfig(o, io.facts ?? systemHostFacts);
  for (const w of resolved.warnings) say(`warning: ${w}`);
  if (!resolved.config) {
    for (const e of resolved.errors) say(`error: ${e}`);
    return 1;
  }
  const config = resolved.config;
  const rules = buildCaptureRules(config);

  if (o.dryRun) {
    const text = o.cleanupOnly ? cleanupText(config) : restoreText(rules);
    out(text);
    if (o.dryRunFilePath) writeFileSync(o.dryRunFilePath, text);
    if (!o.cleanupOnly) {
      for (const args of plannedRouteCommands(config)) say(`dry run: would also run: ${commandLine('ip', args)}`);
    }
    return 0;
  }
  if (o.skipRuleApply) {
    say('--skip-rule-apply: nothing to do');
    return 0;
  }
  const runner = o.networkNamespace ? inNetworkNamespace(io.runner ?? systemRunner, o.networkNamespace) : (io.runner ?? systemRunner);
  try {
    return o.cleanupOnly
      ? await cleanup(runner, config, o.forceIptablesBinary, say)
      : await apply(runner, config, rules, o.forceIptablesBinary, o.forceApply, say);
  } catch (e) {
    if (!(e instanceof IptablesError)) throw e;
    say(`error: ${e.message}`);
    return 1;
  }
}

/** The iptables-restore input: IPv4, then IPv6 when enabled (the goldens' order). */
function restoreText(rules: RuleSet): string {
  return buildRestore(rules.v4) + buildRestore(rules.v6);
}

/**
 * The rules `--cleanup` undoes. Jumps and ISTIO_* chains are found from the live state whatever
 * flags made them; the other rules in built-in chains (TPROXY's MARK/CONNMARK, the -c and -k
 * RETURNs) only by undoing what these flags would create. Both interception modes are undone,
 * so a TPROXY install is cleaned by a plain `--cleanup` too; IPv6 rules are always included.
 */
function cleanupRules(config: CaptureConfig): { v4: Rule[]; v6: Rule[] } {
  const base: CaptureConfig = { ...config, enableIpv6: true };
  const other: CaptureConfig = { ...base, interceptionMode: config.interceptionMode === 'TPROXY' ? 'REDIRECT' : 'TPROXY' };
  const both = [buildCaptureRules(base), buildCaptureRules(other)];
  return { v4: both.flatMap((r) => r.v4), v6: both.flatMap((r) => r.v6) };
}

/** The commands `--cleanup` starts with, one per line (IPv6 ones when the pod is IPv6). */
function cleanupText(config: CaptureConfig): string {
  const rules = cleanupRules(config);
  const lines = [
    ...undoCommands(rules.v4).map((a) => commandLine('iptables', a)),
    ...(config.enableIpv6 ? undoCommands(rules.v6).map((a) => commandLine('ip6tables', a)) : []),
  ];
  return `${lines.join('\n')}\n`;
}

function check<T>(value: T | IptablesError): T {
  if (value instanceof IptablesError) throw value;
  return value;
}

const DESCRIBE: Readonly<Record<ApplyOutcome, string>> = {
  applied: 'rules applied',
  unchanged: 'rules already in place, nothing changed',
  replaced: 'earlier rules replaced',
};

async function apply(
  runner: CommandRunner, config: CaptureConfig, rules: RuleSet, force: string, forceApply: boolean, say: (m: string) => void,
): Promise<number> {
  const v4 = check(await detectIptables(runner, 4, force));
  const v6 = config.enableIpv6 ? check(await detectIptables(runner, 6, force)) : undefined;
  const outcome4 = check(await applyRules(runner, v4, rules.v4, forceApply));
  say(`IPv4 (${v4.binary}): ${DESCRIBE[outcome4]}`);
  if (v6) {
    const outcome6 = check(await applyRules(runner, v6, rules.v6, forceApply));
    say(`IPv6 (${v6.binary}): ${DESCRIBE[outcome6]}`);
  }
  const routes = await configureRoutes(runner, config);
  if (routes) throw routes;
  return 0;
}

async function cleanup(
  runner: CommandRunner, config: CaptureConfig, force: string, say: (m: string) => void,
): Promise<number> {
  const v4 = check(await detectIptables(runner, 4, force));
  // IPv6 is cleaned whenever ip6tables works, even if the pod does not look IPv6 now.
  const found6 = await detectIptables(runner, 6, force);
  const v6: IptablesTool | undefined = found6 instanceof IptablesError ? undefined : found6;
  if (config.enableIpv6 && !v6) throw found6;
  const rules = cleanupRules(config);
  const removed4 = await removeRules(runner, v4, rules.v4);
  if (removed4) throw removed4;
  say(`IPv4 (${v4.binary}): removed`);
  if (v6) {
    const removed6 = await removeRules(runner, v6, rules.v6);
    if (removed6) throw removed6;
    say(`IPv6 (${v6.binary}): removed`);
  }
  await removeRoutes(runner, config, v6 ? [4, 6] : [4]);
  return 0;
}
