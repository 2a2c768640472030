/**
 * IP addresses as numbers, for prefix matching (filter chain matches, source/destination
 * ranges). Parsed once where configs are decoded; a connection's addresses are parsed once per
 * connection.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface IpBits {
  readonly family: 4 | 6;
  /** The address as a 32- or 128-bit number. */
  readonly bits: bigint;
}

/** "::ffff:10.0.0.1" (IPv4 on a dual-stack socket) → "10.0.0.1". */
export function unmapIpv4(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** Parses an IPv4 or IPv6 literal (IPv4-mapped IPv6 counts as IPv4); undefined when it is not one. */
export function parseIpBits(text: string): IpBits | undefined {
  const ip = unmapIpv4(text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text);
  if (isIPv4(ip)) {
    // Plain numbers first, one BigInt at the end: this runs once per accepted connection.
    let n = 0;
    let part = 0;
    for (let i = 0; i < ip.length; i++) {
      const c = ip.charCodeAt(i);
      if (c === 46) {
        n = n * 256 + part;
        part = 0;
      } else part = part * 10 + (c - 48);
    }
    return { family: 4, bits: BigInt(n * 256 + part) };
  }
  if (!isIPv6(ip)) return undefined;
  const pct = ip.indexOf('%');
  let body = pct >= 0 ? ip.slice(0, pct) : ip;
  // A trailing dotted quad (::1.2.3.4) becomes two hex groups.
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIpBits(tail);
    if (!v4) return undefined;
    body = `${body.slice(0, lastColon + 1)}${(v4.bits >> 16n).toString(16)}:${(v4.bits & 0xffffn).toString(16)}`;
  }
  const [head, rest] = body.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const missing = 8 - headGroups.length - restGroups.length;
  const groups = rest === undefined ? headGroups : [...headGroups, ...new Array<string>(missing).fill('0'), ...restGroups];
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  return { family: 6, bits: n };
}

/** Whether `ip` lies in the prefix `bits/prefixLen` of the same family. */
export function inPrefix(ip: IpBits, family: 4 | 6, bits: bigint, prefixLen: number): boolean {
  if (ip.family !== family) return false;
  if (prefixLen === 0) return true;
  const width = family === 4 ? 32n : 128n;
  const shift = width - BigInt(prefixLen);
  return (ip.bits >> shift) === (bits >> shift);
}

/** 127.0.0.0/8 or ::1. */
export function isLoopback(ip: IpBits): boolean {
  return ip.family === 4 ? (ip.bits >> 24n) === 127n : ip.bits === 1n;
}
