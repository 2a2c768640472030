/**
 * Filter chain selection exactly as Envoy's FilterChainManagerImpl does it: a tree of criteria
 * in Envoy's order — destination port, destination IP (longest prefix), server name (exact, then
 * the longest `*.suffix` wildcard), transport protocol, application protocols (in the
 * connection's order), direct source IP, source type, source IP (longest prefix), source port.
 * At every level the most specific entry that matches is taken and the search never backtracks:
 * if nothing below it matches, no chain matches (then the default chain, if any), as in Envoy.
 *
 * Built once per listener config; a connection costs a few map lookups and prefix compares.
 */
import { inPrefix, isLoopback, type IpBits } from '../common/ip-bits';
import type { CidrModel, FilterChainMatchModel } from '../snapshot/model';
import type { ConnectionFacts } from './connection-facts';

/** A level keyed by an exact value, with a catch-all entry for "not set" ('' or 0). */
type ExactLevel<K, N> = Map<K, N>;

/** A level of IP prefixes, longest first; the "not set" entry matches everything, after them. */
interface CidrLevel<N> {
  readonly ranges: { readonly cidr: CidrModel; readonly node: N }[];
  any: N | undefined;
}

type SourcePortLevel<T> = ExactLevel<number, T>;
type SourceIpLevel<T> = CidrLevel<SourcePortLevel<T>>;
interface SourceTypeLevel<T> { local?: SourceIpLevel<T>; external?: SourceIpLevel<T>; any?: SourceIpLevel<T> }
type DirectSourceLevel<T> = CidrLevel<SourceTypeLevel<T>>;
type AlpnLevel<T> = ExactLevel<string, DirectSourceLevel<T>>;
type TransportLevel<T> = ExactLevel<string, AlpnLevel<T>>;
type ServerNameLevel<T> = ExactLevel<string, TransportLevel<T>>;
type DestinationIpLevel<T> = CidrLevel<ServerNameLevel<T>>;
type DestinationPortLevel<T> = ExactLevel<number, DestinationIpLevel<T>>;

export class DuplicateMatchError extends Error {}

/** Selects one chain (any value) per connection by its filter_chain_match. */
export class FilterChainMatcher<T> {
  private readonly root: DestinationPortLevel<T> = new Map();

  /**
   * @param chains each chain with its match; throws {@link DuplicateMatchError} naming both chains
   *   when two would match the same connections (Envoy rejects such listeners).
   */
  constructor(chains: readonly { readonly match: FilterChainMatchModel; readonly value: T; readonly label: string }[]) {
    const owners = new Map<object, string>();
    for (const c of chains) this.insert(c.match, c.value, c.label, owners);
  }

  /** The chain for this connection, or undefined (→ default chain or close). */
  find(c: ConnectionFacts): T | undefined {
    const ip = this.root.get(c.localPort) ?? this.root.get(0);
    if (!ip) return undefined;
    const names = matchCidr(ip, c.localIp);
    if (!names) return undefined;
    const transports = matchServerName(names, c.serverName);
    if (!transports) return undefined;
    const alpns = transports.get(c.transportProtocol) ?? transports.get('');
    if (!alpns) return undefined;
    let direct: DirectSourceLevel<T> | undefined;
    for (const p of c.applicationProtocols) {
      direct = alpns.get(p);
      if (direct) break;
    }
    direct ??= alpns.get('');
    if (!direct) return undefined;
    const types = matchCidr(direct, c.remoteIp);
    if (!types) return undefined;
    const sameIpOrLoopback = c.remoteIp !== undefined && (isLoopback(c.remoteIp) || (c.localIp !== undefined && c.remoteIp.family === c.localIp.family && c.remoteIp.bits === c.localIp.bits));
    const sources = (sameIpOrLoopback ? types.local : types.external) ?? types.any;
    if (!sources) return undefined;
    const ports = matchCidr(sources, c.remoteIp);
    if (!ports) return undefined;
    return ports.get(c.remotePort) ?? ports.get(0);
  }

  private insert(m: FilterChainMatchModel, value: T, label: string, owners: Map<object, string>): void {
    for (const port of m.destinationPort === undefined ? [0] : [m.destinationPort]) {
      const ipLevel = getOrCreate(this.root, port, newCidrLevel<ServerNameLevel<T>>);
      for (const names of cidrSlots(ipLevel, m.prefixRanges, () => new Map())) {
        for (const name of m.serverNames.length ? m.serverNames : ['']) {
          const transports = getOrCreate(names, name.toLowerCase(), () => new Map());
          const alpns = getOrCreate(transports, m.transportProtocol, () => new Map());
          for (const proto of m.applicationProtocols.length ? m.applicationProtocols : ['']) {
            const direct = getOrCreate(alpns, proto, newCidrLevel<SourceTypeLevel<T>>);
            for (const types of cidrSlots(direct, m.directSourcePrefixRanges, (): SourceTypeLevel<T> => ({}))) {
              const key = m.sourceType === 'SAME_IP_OR_LOOPBACK' ? 'local' : m.sourceType === 'EXTERNAL' ? 'external' : 'any';
              const sources = (types[key] ??= newCidrLevel<SourcePortLevel<T>>());
              for (const ports of cidrSlots(sources, m.sourcePrefixRanges, () => new Map())) {
                for (const sp of m.sourcePorts.length ? m.sourcePorts : [0]) {
                  if (ports.has(sp)) {
                    throw new DuplicateMatchError(`multiple filter chains with the same matching rules are defined (${owners.get(ports) ?? 'a chain'} and ${label})`);
                  }
                  ports.set(sp, value);
                  owners.set(ports, label);
                }
              }
            }
          }
        }
      }
    }
  }
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

function newCidrLevel<N>(): CidrLevel<N> {
  return { ranges: [], any: undefined };
}

/** The nodes under each configured range (shared when the same range repeats), or the catch-all. */
function cidrSlots<N>(level: CidrLevel<N>, cidrs: readonly CidrModel[], make: () => N): N[] {
  if (cidrs.length === 0) return [(level.any ??= make())];
  return cidrs.map((cidr) => {
    const masked = maskBits(cidr);
    const same = level.ranges.find((r) => r.cidr.family === cidr.family && r.cidr.prefixLen === cidr.prefixLen && maskBits(r.cidr) === masked);
    if (same) return same.node;
    const node = make();
    level.ranges.push({ cidr, node });
    // Longest prefix first, so the first hit is the most specific.
    level.ranges.sort((a, b) => b.cidr.prefixLen - a.cidr.prefixLen);
    return node;
  });
}

function maskBits(c: CidrModel): bigint {
  const width = c.family === 4 ? 32n : 128n;
  const shift = width - BigInt(c.prefixLen);
  return (c.bits >> shift) << shift;
}

function matchCidr<N>(level: CidrLevel<N>, ip: IpBits | undefined): N | undefined {
  if (ip) for (const r of level.ranges) if (inPrefix(ip, r.cidr.family, r.cidr.bits, r.cidr.prefixLen)) return r.node;
  return level.any;
}

/** Exact name, then `*.b.c` before `*.c` (longest suffix first), then the catch-all. */
function matchServerName<N>(level: ExactLevel<string, N>, serverName: string): N | undefined {
  if (serverName) {
    const name = serverName.toLowerCase();
    const exact = level.get(name);
    if (exact) return exact;
    for (let pos = name.indexOf('.', 1); pos >= 0 && pos < name.length - 1; pos = name.indexOf('.', pos + 1)) {
      const wild = level.get(`*${name.slice(pos)}`);
      if (wild) return wild;
    }
  }
  return level.get('');
}
