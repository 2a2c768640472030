import { parseIpBits } from '../../common/ip-bits';
import type { CidrModel, FilterChainMatchModel } from '../../snapshot/model';
import type { DecodeContext, ProtoObj } from './decode-context';

export const EMPTY_MATCH: FilterChainMatchModel = Object.freeze({
  destinationPort: undefined,
  prefixRanges: [],
  directSourcePrefixRanges: [],
  serverNames: [],
  transportProtocol: '',
  applicationProtocols: [],
  sourceType: 'ANY',
  sourcePrefixRanges: [],
  sourcePorts: [],
});

/** Decodes `config.listener.v3.FilterChainMatch` with Envoy's validation (listener_impl.cc, filter_chain_manager_impl.cc). */
export function decodeFilterChainMatch(m: ProtoObj | undefined, path: string, ctx: DecodeContext): FilterChainMatchModel {
  if (!m || Object.keys(m).length === 0) return EMPTY_MATCH;
  let destinationPort: number | undefined;
  if (m.destination_port !== undefined) {
    destinationPort = Number(m.destination_port);
    if (!Number.isInteger(destinationPort) || destinationPort < 1 || destinationPort > 65535) {
      ctx.error(`${path}.destination_port`, `must be in 1..65535, got ${m.destination_port}`);
    }
  }
  const serverNames = (m.server_names ?? []).map(String) as string[];
  serverNames.forEach((n, i) => {
    // Envoy: "partial wildcards are not supported" — only a leading "*." is allowed.
    if (n.includes('*') && !/^\*\.[^*]+$/.test(n)) ctx.error(`${path}.server_names[${i}]`, `partial wildcards are not supported ("${n}")`);
  });
  const sourcePorts = (m.source_ports ?? []).map(Number) as number[];
  sourcePorts.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) ctx.error(`${path}.source_ports[${i}]`, `must be in 1..65535, got ${p}`);
  });
  const sourceType = String(m.source_type ?? 'ANY') as FilterChainMatchModel['sourceType'];
  if (!['ANY', 'SAME_IP_OR_LOOPBACK', 'EXTERNAL'].includes(sourceType)) ctx.error(`${path}.source_type`, `unknown source type ${sourceType}`);
  return {
    destinationPort,
    prefixRanges: decodeCidrs(m.prefix_ranges, `${path}.prefix_ranges`, ctx),
    directSourcePrefixRanges: decodeCidrs(m.direct_source_prefix_ranges, `${path}.direct_source_prefix_ranges`, ctx),
    serverNames,
    transportProtocol: String(m.transport_protocol ?? ''),
    applicationProtocols: (m.application_protocols ?? []).map(String),
    sourceType,
    sourcePrefixRanges: decodeCidrs(m.source_prefix_ranges, `${path}.source_prefix_ranges`, ctx),
    sourcePorts,
  };
}

/** Decodes `config.core.v3.CidrRange` entries. */
export function decodeCidrs(list: ProtoObj[] | undefined, path: string, ctx: DecodeContext): CidrModel[] {
  const out: CidrModel[] = [];
  (list ?? []).forEach((r, i) => {
    const text = String(r.address_prefix ?? '');
    const ip = parseIpBits(text);
    if (!ip) {
      ctx.error(`${path}[${i}].address_prefix`, `"${text}" is not an IP address`);
      return;
    }
    const prefixLen = Number(r.prefix_len ?? 0);
    const max = ip.family === 4 ? 32 : 128;
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max) {
      ctx.error(`${path}[${i}].prefix_len`, `must be in 0..${max} for ${text}`);
      return;
    }
    out.push({ family: ip.family, bits: ip.bits, prefixLen, text: `${text}/${prefixLen}` });
  });
  return out;
}
