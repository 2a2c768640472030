/**
 * `legate iptables --help`, generated from the flag table so it cannot drift.
 */
import { defaultIptablesOptions, IPTABLES_FLAGS } from './flags';

/** The help text. */
export function iptablesUsage(): string {
  const defaults = defaultIptablesOptions() as unknown as Record<string, unknown>;
  const lines = [
    'Usage: legate iptables [flags]',
    '',
    'Sets up the pod\'s iptables capture for the sidecar, with istio-iptables\' flags, defaults and',
    'rules (run it in an init container as root, or with NET_ADMIN and NET_RAW). --dry-run prints',
    'the iptables-restore input (IPv4, then IPv6 when the pod is IPv6) without touching anything;',
    '--cleanup removes every rule and chain of ours. Running it twice is safe.',
    '',
    'Flags:',
  ];
  for (const spec of IPTABLES_FLAGS) {
    if (spec.kind.startsWith('ignored')) continue;
    const names = spec.short ? `-${spec.short}, --${spec.name}` : `    --${spec.name}`;
    const value = spec.kind === 'bool' ? '' : spec.kind === 'duration' ? ' duration' : spec.kind === 'uint16' ? ' uint16' : ' string';
    const def = spec.key !== undefined ? defaults[spec.key] : undefined;
    const shownDefault = spec.kind === 'duration' ? `${Number(def) / 1000}s` : def;
    const defText = shownDefault === '' || shownDefault === false || shownDefault === undefined ? '' : ` (default ${JSON.stringify(shownDefault)})`;
    const env = spec.env.length ? ` [env ${spec.env.join(', ')}]` : '';
    lines.push(`  ${names}${value}`, `        ${spec.help}${defText}${env}`);
  }
  lines.push(
    '  -h, --help',
    '        Show this help.',
    '',
    'Environment only: ISTIO_OUTBOUND_OWNER_GROUPS (default "*"), ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE,',
    'ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR (default "127.0.0.1/32"), ENVOY_USER (default "istio-proxy": its uid',
    'is the -u default, else 1337), DRY_RUN_FILE_PATH (--dry-run output is also written there).',
    'istio\'s --log_* flags are accepted and ignored.',
  );
  return `${lines.join('\n')}\n`;
}
