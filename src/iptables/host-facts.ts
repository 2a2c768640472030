/**
 * What istio-iptables learns from the machine rather than from flags
 * (`FillConfigFromEnvironment` in `istio/istio:tools/common/config/config.go`): whether the pod
 * is IPv6 (from its addresses), the DNS servers (from resolv.conf), and the proxy user's uid.
 * Behind an interface so tests and dry runs can supply them.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { canonicalAddress } from './ip-prefix';

/** The host facts the capture config needs. */
export interface HostFacts {
  /** The machine's addresses, in interface order (as Go's `net.InterfaceAddrs`). */
  localAddresses(): readonly string[];
  /** The `nameserver` entries of /etc/resolv.conf; throws when the file cannot be read. */
  nameservers(): readonly string[];
  /** The uid of a user name from /etc/passwd, or undefined when there is no such user. */
  userUid(name: string): string | undefined;
}

/** Facts read from this machine (or network namespace). */
export const systemHostFacts: HostFacts = {
  localAddresses() {
    const out: string[] = [];
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) out.push(a.address);
    }
    return out;
  },
  nameservers() {
    return parseResolvConf(readFileSync('/etc/resolv.conf', 'utf8'));
  },
  userUid(name) {
    try {
      return parsePasswdUid(readFileSync('/etc/passwd', 'utf8'), name);
    } catch {
      return undefined;
    }
  },
};

/** `nameserver` entries, as miekg/dns `ClientConfigFromFile` collects them. */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === 'nameserver' && fields[1]) out.push(fields[1]);
  }
  return out;
}

/** The uid field of `name`'s line in a passwd file. */
export function parsePasswdUid(text: string, name: string): string | undefined {
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields[2] && /^\d+$/.test(fields[2])) return fields[2];
  }
  return undefined;
}

/**
 * Whether IPv6 rules are needed (istio's `getLocalIP`): the first address that is not loopback
 * or link-local decides; with `dualStack`, any such IPv6 address turns IPv6 on.
 * @returns the answer, or an error when the machine has no usable address at all.
 */
export function detectIpv6(addresses: readonly string[], dualStack: boolean): boolean | string {
  let found = false;
  for (const raw of addresses) {
    const a = canonicalAddress(raw.split('%')[0] ?? '');
    if (!a) continue;
    let text = a.text;
    let family = a.family;
    if (family === 6 && text.startsWith('::ffff:') && text.includes('.')) {
      text = text.slice(7); // Go unmaps IPv4-mapped addresses first
      family = 4;
    }
    if (isLoopbackOrLinkLocal(text, family)) continue;
    found = true;
    if (!dualStack) return family === 6;
    if (family === 6) return true;
  }
  return found ? false : 'no valid local IP address found';
}

function isLoopbackOrLinkLocal(text: string, family: 4 | 6): boolean {
  if (family === 4) return text.startsWith('127.') || text.startsWith('169.254.') || /^224\.0\.0\./.test(text);
  const lower = text.toLowerCase();
  return lower === '::1' || /^fe[89ab][0-9a-f]:/.test(lower) || /^ff[0-9a-f]2:/.test(lower);
}
