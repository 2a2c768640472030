import type { SocketAddress } from '../../snapshot/model';
import type { DecodeContext, ProtoObj } from './decode-context';

/** Decodes `config.core.v3.Address` (socket_address or pipe). */
export function decodeAddress(a: ProtoObj | undefined, path: string, ctx: DecodeContext): SocketAddress | undefined {
  if (!a) {
    ctx.error(path, 'address is required');
    return undefined;
  }
  if (a.pipe) {
    const p = String(a.pipe.path ?? '');
    if (!p) ctx.error(`${path}.pipe.path`, 'pipe path is required');
    return { kind: 'pipe', path: p };
  }
  if (a.envoy_internal_address) {
    ctx.error(`${path}.envoy_internal_address`, 'internal listener addresses are not supported by Legate');
    return undefined;
  }
  const sa = a.socket_address;
  if (!sa) {
    ctx.error(path, 'one of socket_address or pipe is required');
    return undefined;
  }
  if ((sa.protocol ?? 'TCP') !== 'TCP') {
    ctx.error(`${path}.socket_address.protocol`, `protocol ${sa.protocol} is not supported (only TCP)`);
  }
  if (sa.named_port !== undefined) {
    ctx.error(`${path}.socket_address.named_port`, 'named ports are not supported; use port_value');
  }
  if (sa.resolver_name) {
    ctx.error(`${path}.socket_address.resolver_name`, 'custom resolvers are not supported');
  }
  const host = String(sa.address ?? '');
  if (!host) ctx.error(`${path}.socket_address.address`, 'address is required');
  const port = Number(sa.port_value ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    ctx.error(`${path}.socket_address.port_value`, `invalid port ${sa.port_value}`);
  }
  return { kind: 'tcp', host: host.startsWith('[') ? host.slice(1, -1) : host, port };
}
