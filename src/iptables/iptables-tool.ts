/**
 * Finding the iptables binaries to use, as istio's `DetectIptablesVersion`
 * (`istio/istio:tools/istio-iptables/pkg/dependencies/implementation.go`): `iptables-legacy` if
 * this namespace already has legacy rules, else `iptables-nft`, else plain `iptables`; or the
 * variant forced with `--force-iptables-binary`. Mixing variants in one namespace would leave two
 * rule sets that both apply, so the choice matters.
 */
import { IptablesError, CommandFailedError, PermissionDeniedError, ToolNotFoundError, isPermissionProblem } from './errors';
import { commandLine, type CommandRunner, type ExecResult } from './runner';

/** The binaries of one family and variant. */
export interface IptablesTool {
  readonly family: 4 | 6;
  /** e.g. `iptables-nft`, `ip6tables-legacy`, `iptables`. */
  readonly binary: string;
  readonly save: string;
  readonly restore: string;
  /** Legacy (xtables lock) rather than nf_tables. */
  readonly legacy: boolean;
  /** Extra arguments for writes: `--wait=30` where the legacy lock exists (1.6.2+). */
  readonly waitArgs: readonly string[];
}

const INSTALL_HINT = 'install the iptables package (iptables, iptables-save, iptables-restore; Debian/Ubuntu: apt-get install iptables)';

type Probe = { ok: true; tool: IptablesTool; existingRules: boolean } | { ok: false; result: ExecResult; command: string };

async function probe(runner: CommandRunner, binary: string, family: 4 | 6): Promise<Probe> {
  const save = `${binary}-save`;
  const dump = await runner.run(save, []);
  if (dump.notFound || dump.code !== 0) return { ok: false, result: dump, command: save };
  const version = await runner.run(binary, ['--version']);
  const text = version.stdout + version.stderr;
  const legacy = !text.includes('nf_tables');
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(text);
  const [maj, min, pat] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  const lockable = legacy && (maj > 1 || (maj === 1 && (min > 6 || (min === 6 && pat >= 2))));
  const tool: IptablesTool = { family, binary, save, restore: `${binary}-restore`, legacy, waitArgs: lockable ? ['--wait=30'] : [] };
  // A dump of an empty namespace has no lines; any rule gives at least three.
  return { ok: true, tool, existingRules: (dump.stdout.match(/\n/g) ?? []).length >= 3 };
}

/**
 * Picks the binaries for one family.
 * @param force `legacy`, `nft`, or '' to detect
 * @returns the tool, or an error saying it is missing or that we lack privileges
 */
export async function detectIptables(runner: CommandRunner, family: 4 | 6, force: string): Promise<IptablesTool | IptablesError> {
  const base = family === 4 ? 'iptables' : 'ip6tables';
  const failures: Probe[] = [];
  const attempt = async (binary: string) => {
    const p = await probe(runner, binary, family);
    if (!p.ok) failures.push(p);
    return p;
  };
  if (force) {
    const p = await attempt(`${base}-${force}`);
    if (p.ok) return p.tool;
  } else {
    const legacy = await attempt(`${base}-legacy`);
    if (legacy.ok && legacy.existingRules) return legacy.tool;
    const nft = await attempt(`${base}-nft`);
    if (nft.ok) return nft.tool;
    const plain = await attempt(base);
    if (plain.ok) return plain.tool;
    if (legacy.ok) return legacy.tool;
  }
  for (const f of failures) {
    if (!f.ok && !f.result.notFound && isPermissionProblem(f.result.stderr)) return new PermissionDeniedError(f.command, f.result.stderr);
  }
  const ran = failures.find((f) => !f.ok && !f.result.notFound);
  if (ran && !ran.ok) return new CommandFailedError(commandLine(ran.command, []), ran.result.code, ran.result.stderr);
  return new ToolNotFoundError(force ? `${base}-${force}-save` : `${base}-save`, INSTALL_HINT);
}

/** Runs an iptables tool, turning a failure into a typed error. */
export async function runTool(runner: CommandRunner, file: string, args: readonly string[], stdin?: string): Promise<string | IptablesError> {
  const r = await runner.run(file, args, stdin);
  if (r.notFound) return new ToolNotFoundError(file, INSTALL_HINT);
  if (r.code === 0) return r.stdout;
  if (isPermissionProblem(r.stderr)) return new PermissionDeniedError(commandLine(file, args), r.stderr);
  return new CommandFailedError(commandLine(file, args), r.code, r.stderr);
}
