/**
 * Policy routing for TPROXY and the IPv6 passthrough address, as istio's `ConfigureRoutes`
 * (`istio/istio:tools/common/tproxy/run_linux.go`, which uses netlink), here through `ip`:
 *
 * - IPv6 on: `ip -6 addr add ::6/128 dev lo` (the proxy binds inbound passthrough connections
 *   to ::6; IPv6 loopback is only ::1/128 by default, unlike 127/8).
 * - TPROXY with inbound capture: `ip rule add fwmark <mark> lookup <table>` and
 *   `ip route add local default dev lo table <table>`, per family.
 *
 * Each step is idempotent: the rule is added only when missing (`ip rule add` happily adds
 * duplicates), routes and addresses use `replace`.
 */
import type { CaptureConfig } from './capture-config';
import { CommandFailedError, IptablesError, PermissionDeniedError, ToolNotFoundError, isPermissionProblem } from './errors';
import { commandLine, type CommandRunner } from './runner';

const IP_HINT = 'install iproute2 (the `ip` command); TPROXY mode and IPv6 need it';

async function ip(runner: CommandRunner, args: readonly string[]): Promise<string | IptablesError> {
  const r = await runner.run('ip', args);
  if (r.notFound) return new ToolNotFoundError('ip', IP_HINT);
  if (r.code === 0) return r.stdout;
  if (isPermissionProblem(r.stderr)) return new PermissionDeniedError(commandLine('ip', args), r.stderr);
  return new CommandFailedError(commandLine('ip', args), r.code, r.stderr);
}

/** The `ip` commands {@link configureRoutes} may run, for `--dry-run` output. */
export function plannedRouteCommands(c: CaptureConfig): string[][] {
  const out: string[][] = [];
  if (c.enableIpv6) out.push(['-6', 'addr', 'replace', '::6/128', 'dev', 'lo']);
  if (c.inboundPorts.kind !== 'none' && c.interceptionMode === 'TPROXY') {
    for (const fam of c.enableIpv6 ? ['-4', '-6'] : ['-4']) {
      out.push([fam, 'rule', 'add', 'fwmark', c.tproxyMark, 'lookup', c.tproxyRouteTable]);
    }
    for (const [fam, dst] of c.enableIpv6 ? [['-4', '0.0.0.0/0'], ['-6', '::/0']] : [['-4', '0.0.0.0/0']]) {
      out.push([fam ?? '-4', 'route', 'replace', 'local', dst ?? '', 'dev', 'lo', 'table', c.tproxyRouteTable]);
    }
  }
  return out;
}

/** Applies {@link plannedRouteCommands}, skipping `ip rule add` when the rule is already there. */
export async function configureRoutes(runner: CommandRunner, c: CaptureConfig): Promise<IptablesError | undefined> {
  for (const args of plannedRouteCommands(c)) {
    if (args[1] === 'rule') {
      const present = await ip(runner, [args[0] ?? '-4', 'rule', 'show', 'fwmark', c.tproxyMark, 'lookup', c.tproxyRouteTable]);
      if (typeof present !== 'string') return present;
      if (present.trim() !== '') continue;
    }
    const r = await ip(runner, args);
    if (typeof r !== 'string') return r;
  }
  return undefined;
}

/**
 * Removes the TPROXY rule and route table (istio's cleanup leaves them; we do not, so that a
 * cleaned pod has nothing of ours). The table is flushed only in TPROXY mode or when one of our
 * rules pointed at it, so a REDIRECT cleanup never touches someone else's table. The ::6 address
 * stays: it is harmless and may be in use. Failures are ignored: things may already be gone.
 */
export async function removeRoutes(
  runner: CommandRunner,
  c: Pick<CaptureConfig, 'tproxyMark' | 'tproxyRouteTable' | 'interceptionMode'>,
  families: readonly (4 | 6)[],
): Promise<void> {
  for (const family of families) {
    const fam = `-${family}`;
    let deleted = 0;
    // Delete every copy (older runs, or istio's, may have added duplicates).
    for (; deleted < 16; deleted++) {
      const r = await runner.run('ip', [fam, 'rule', 'del', 'fwmark', c.tproxyMark, 'lookup', c.tproxyRouteTable]);
      if (r.notFound || r.code !== 0) break;
    }
    if (deleted > 0 || c.interceptionMode === 'TPROXY') {
      await runner.run('ip', [fam, 'route', 'flush', 'table', c.tproxyRouteTable]);
    }
  }
}
