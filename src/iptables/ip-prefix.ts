/**
 * IP prefixes as istio-iptables reads and prints them (Go's `net/netip`): strict parsing, and
 * the canonical text Go prints, because that text ends up in the rules (`-d 2001:db8::/32`).
 *
 * Go's `netip.Prefix.String()` keeps the address as written (`10.1.2.3/8` stays `10.1.2.3/8`,
 * it is not masked) but canonicalises its spelling: lower-case IPv6 with the longest run of two
 * or more zero groups shortened to `::` (RFC 5952), and `::ffff:a.b.c.d` for IPv4-mapped addresses.
 */

/** A parsed prefix. */
export interface IpPrefix {
  /** 4 for dotted-quad input, 6 for everything else (IPv4-mapped IPv6 included, as in Go). */
  readonly family: 4 | 6;
  /** Canonical text, `addr/bits`, as Go's `netip.Prefix.String()` prints it. */
  readonly text: string;
  /** The address is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped 127/8), as Go's `IsLoopback`. */
  readonly loopback: boolean;
}

/** The CIDR list of one IP family (`config.NetworkRange` in istio). */
export interface NetworkRange {
  /** The list was `*`: every destination. */
  readonly wildcard: boolean;
  /** The listed prefixes of this family, in input order. */
  readonly cidrs: readonly IpPrefix[];
  /** One of the prefixes is a loopback address. */
  readonly hasLoopback: boolean;
}

/** Parses dotted-quad IPv4 strictly (four decimal parts 0–255, no leading zeros), as Go does. */
function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    bytes.push(n);
  }
  return bytes;
}

/** Parses IPv6 (with an optional trailing dotted quad) into eight 16-bit groups. */
function parseIpv6(text: string): number[] | undefined {
  if (text.includes('%')) return undefined; // zones are not allowed in prefixes
  let head = text;
  const tailGroups: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tailGroups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parseGroups(halves[0] ?? '');
  const right = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (!left || !right) return undefined;
  const given = left.length + right.length + tailGroups.length;
  if (halves.length === 2) {
    if (given > 7) return undefined;
    return [...left, ...new Array<number>(8 - given).fill(0), ...right, ...tailGroups];
  }
  if (given !== 8) return undefined;
  return [...left, ...tailGroups];
}

/** Go's `netip.Addr.String()` for an IPv6 address given as eight groups. */
function formatIpv6(groups: readonly number[]): string {
  const isMapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (isMapped) {
    const a = groups[6] ?? 0;
    const b = groups[7] ?? 0;
    return `::ffff:${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}`;
  }
  // The first longest run of at least two zero groups becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (gs: readonly number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/**
 * Parses `addr/bits` as Go's `netip.ParsePrefix`.
 * @returns the prefix, or an error message naming the input.
 */
export function parsePrefix(input: string): IpPrefix | string {
  const slash = input.lastIndexOf('/');
  if (slash < 0) return `netip.ParsePrefix(${JSON.stringify(input)}): no '/'`;
  const addr = input.slice(0, slash);
  const bitsText = input.slice(slash + 1);
  if (!/^(0|[1-9][0-9]*)$/.test(bitsText)) return `netip.ParsePrefix(${JSON.stringify(input)}): bad bits after slash: ${JSON.stringify(bitsText)}`;
  const bits = Number(bitsText);
  const v4 = parseIpv4(addr);
  if (v4) {
    if (bits > 32) return `netip.ParsePrefix(${JSON.stringify(input)}): prefix length out of range`;
    return { family: 4, text: `${v4.join('.')}/${bits}`, loopback: v4[0] === 127 };
  }
  const v6 = addr.includes(':') ? parseIpv6(addr) : undefined;
  if (!v6) return `netip.ParsePrefix(${JSON.stringify(input)}): ParseAddr(${JSON.stringify(addr)}): unable to parse IP`;
  if (bits > 128) return `netip.ParsePrefix(${JSON.stringify(input)}): prefix length out of range`;
  const text = formatIpv6(v6);
  const mapped = text.startsWith('::ffff:') && text.includes('.');
  const loopback = mapped ? (v6[6] ?? 0) >> 8 === 127 : v6.slice(0, 7).every((g) => g === 0) && v6[7] === 1;
  return { family: 6, text: `${text}/${bits}`, loopback };
}

/**
 * Canonical text of a single IP address (Go's `netip.ParseAddr(s).String()`), or undefined
 * when it does not parse. Used for the DNS servers read from resolv.conf.
 */
export function canonicalAddress(input: string): { family: 4 | 6; text: string } | undefined {
  const v4 = parseIpv4(input);
  if (v4) return { family: 4, text: v4.join('.') };
  const v6 = input.includes(':') ? parseIpv6(input) : undefined;
  return v6 ? { family: 6, text: formatIpv6(v6) } : undefined;
}

const EMPTY: NetworkRange = { wildcard: false, cidrs: [], hasLoopback: false };

/**
 * Splits a comma-separated CIDR list into its IPv4 and IPv6 parts (`config.SeparateV4V6`):
 * `*` is a wildcard for both families; empty entries are skipped.
 * @returns both ranges, or the first parse error.
 */
export function separateV4V6(list: string): { v4: NetworkRange; v6: NetworkRange } | string {
  if (list === '*') return { v4: { ...EMPTY, wildcard: true }, v6: { ...EMPTY, wildcard: true } };
  const v4: IpPrefix[] = [];
  const v6: IpPrefix[] = [];
  for (const item of splitList(list)) {
    const p = parsePrefix(item);
    if (typeof p === 'string') return p;
    (p.family === 4 ? v4 : v6).push(p);
  }
  return {
    v4: { wildcard: false, cidrs: v4, hasLoopback: v4.some((p) => p.loopback) },
    v6: { wildcard: false, cidrs: v6, hasLoopback: v6.some((p) => p.loopback) },
  };
}

/** istio's `config.Split`: comma-separated, empty items dropped, no trimming. */
export function splitList(s: string): string[] {
  return s === '' ? [] : s.split(',').filter((x) => x !== '');
}
