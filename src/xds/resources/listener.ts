import { randomUUID } from 'node:crypto';
import type { FilterChainModel, ListenerModel } from '../../snapshot/model';
import { decodeAddress } from './address';
import { DecodeContext, typeUrlName, type ProtoObj } from './decode-context';
import { decodeHttpConnectionManager, HCM_TYPE } from './http-connection-manager';
import { checkTransportSocket } from './transport-socket';

/** Decodes `config.listener.v3.Listener`. */
export function decodeListener(l: ProtoObj, path: string, ctx: DecodeContext): ListenerModel {
  // Envoy allocates an internal UUID for a static listener without a name.
  const name = l.name ? String(l.name) : randomUUID();
  const address = decodeAddress(l.address, `${path}.address`, ctx) ?? { kind: 'tcp', host: '0.0.0.0', port: 0 };
  (l.listener_filters ?? []).forEach((f: ProtoObj, i: number) => {
    ctx.error(`${path}.listener_filters[${i}]`, `listener filter "${f.name ?? typeUrlName(f.typed_config)}" is not supported yet`);
  });
  if (l.use_original_dst === true) ctx.error(`${path}.use_original_dst`, 'use_original_dst is not supported yet');
  if (l.bind_to_port === false) ctx.error(`${path}.bind_to_port`, 'listeners that do not bind (bind_to_port: false) are not supported yet');
  if (l.additional_addresses?.length) ctx.error(`${path}.additional_addresses`, 'additional listener addresses are not supported yet');
  const chains: FilterChainModel[] = [];
  (l.filter_chains ?? []).forEach((fc: ProtoObj, i: number) => {
    const c = decodeFilterChain(fc, `${path}.filter_chains[${i}]`, ctx);
    if (c) chains.push(c);
  });
  const declared = (l.filter_chains ?? []).length + (l.default_filter_chain ? 1 : 0);
  if (declared > 1) {
    ctx.error(`${path}.filter_chains`, 'filter chain matching is not supported yet; a listener may have one filter chain (or only a default_filter_chain)');
  } else if (l.default_filter_chain) {
    // With no other chain, the default chain takes every connection.
    const c = decodeFilterChain(l.default_filter_chain, `${path}.default_filter_chain`, ctx);
    if (c) chains.push(c);
  } else if (declared === 0) {
    ctx.error(`${path}.filter_chains`, 'at least one filter chain is required');
  }
  return {
    name,
    address,
    filterChains: chains,
    trafficDirection: String(l.traffic_direction ?? 'UNSPECIFIED') as ListenerModel['trafficDirection'],
    perConnectionBufferLimitBytes: Number(l.per_connection_buffer_limit_bytes ?? 1024 * 1024),
  };
}

function decodeFilterChain(fc: ProtoObj, path: string, ctx: DecodeContext): FilterChainModel | undefined {
  checkTransportSocket(fc.transport_socket, `${path}.transport_socket`, ctx);
  if (fc.filter_chain_match && Object.keys(fc.filter_chain_match).length > 0) {
    ctx.error(`${path}.filter_chain_match`, 'filter_chain_match is not supported yet');
  }
  const filters: ProtoObj[] = fc.filters ?? [];
  if (filters.length === 0) {
    ctx.error(`${path}.filters`, 'a filter chain needs a network filter');
    return undefined;
  }
  let hcm: FilterChainModel['hcm'] | undefined;
  filters.forEach((f, i) => {
    const type = typeUrlName(f.typed_config);
    const fpath = `${path}.filters[${i}]`;
    if (type === HCM_TYPE) {
      if (i !== filters.length - 1) ctx.error(fpath, 'http_connection_manager must be the last network filter');
      hcm = decodeHttpConnectionManager(f.typed_config, `${fpath}.typed_config`, ctx);
    } else {
      ctx.error(fpath, `network filter "${f.name ?? ''}" (${type || 'no typed_config'}) is not supported yet (supported: ${HCM_TYPE})`);
    }
  });
  return hcm ? { name: String(fc.name ?? ''), hcm } : undefined;
}
