/**
 * The istio-iptables goldens (`<fixtures>/istio-iptables/*.golden`) and the flag set each was
 * produced with (the fixtures README, section 3), for the golden tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fixturesDir } from '../../fixtures-dir';
import type { HostFacts } from '../../../src/iptables/host-facts';

/** Settings common to every golden (istio's `constructTestConfig`). */
export const COMMON_FLAGS: readonly string[] = ['-p', '15001', '-z', '15006', '-e', '15008', '-u', '1337', '-g', '1337', '-t', '1337', '-r', '133'];
/** All owner groups captured. */
export const COMMON_ENV: Readonly<Record<string, string>> = { ISTIO_OUTBOUND_OWNER_GROUPS: '*' };

/** One golden: its flags on top of the common ones, and whether the pod is IPv6. */
export interface GoldenCase {
  readonly name: string;
  readonly flags: readonly string[];
  readonly ipv6: boolean;
}

/** The fixtures README table, row by row. */
export const GOLDEN_CASES: readonly GoldenCase[] = [
  { name: 'empty', flags: [], ipv6: false },
  { name: 'inbound-ports-wildcard', flags: ['-b', '*'], ipv6: false },
  { name: 'kube-virt-interfaces', flags: ['-i', '*', '-k', 'eth1,eth2'], ipv6: false },
  {
    name: 'tproxy',
    flags: ['-m', 'TPROXY', '-b', '*', '-i', '9.9.0.0/16', '-x', '1.1.0.0/16', '--redirect-dns', '-u', '1337', '-g', '1337', '-c', 'not-istio-nic', '--dry-run'],
    ipv6: true,
  },
  { name: 'inbound-ports-wildcard-tproxy', flags: ['-m', 'TPROXY', '-b', '*'], ipv6: false },
  { name: 'inbound-ports-include', flags: ['-b', '32000,31000'], ipv6: false },
  { name: 'outbound-ports-include', flags: ['-q', '32000,31000'], ipv6: false },
  {
    name: 'ip-range',
    flags: ['-i', '9.9.0.0/16', '-x', '1.1.0.0/16', '--redirect-dns', '-u', '3,4', '-g', '1,2', '--dry-run'],
    ipv6: false,
  },
];

/** Host facts as in istio's test: the pod's address decides IPv6; resolv.conf has 127.0.0.53. */
export function goldenFacts(ipv6: boolean): HostFacts {
  return {
    localAddresses: () => (ipv6 ? ['fd00:10::5'] : ['10.1.2.5']),
    nameservers: () => ['127.0.0.53'],
    userUid: () => undefined,
  };
}

/** The golden's iptables-restore input: its `* table`…`COMMIT` blocks, IPv4 then IPv6. */
export function goldenRestoreText(name: string): string {
  const file = path.join(fixturesDir(), 'istio-iptables', `${name}.golden`);
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const first = lines.findIndex((l) => l.startsWith('* '));
  const last = lines.lastIndexOf('COMMIT');
  const outside = [...lines.slice(0, first), ...lines.slice(last + 1)];
  for (const l of outside) {
    if (l !== 'iptables-save' && l !== 'ip6tables-save') throw new Error(`${name}.golden: unexpected line outside the rule blocks: ${l}`);
  }
  return `${lines.slice(first, last + 1).join('\n')}\n`;
}

/** The golden files present, so a new golden without a case is noticed. */
export function goldenNames(): string[] {
  return fs.readdirSync(path.join(fixturesDir(), 'istio-iptables'))
    .filter((f) => f.endsWith('.golden'))
    .map((f) => f.slice(0, -'.golden'.length))
    .sort();
}
