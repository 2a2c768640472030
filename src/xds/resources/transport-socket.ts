import type { TransportSocketMatchModel } from '../../snapshot/model';
import { typeUrlName, type DecodeContext, type ProtoObj } from './decode-context';

/**
 * Legate has no TLS yet. A TLS transport socket must never be accepted as a no-op
 * (that would send plaintext where the operator asked for encryption, or accept
 * unauthenticated peers), so anything but raw_buffer is rejected by name.
 */
export function checkTransportSocket(ts: ProtoObj | undefined, path: string, ctx: DecodeContext): void {
  if (!ts || isPlaintext(ts)) return;
  const type = typeUrlName(ts.typed_config);
  const name = String(ts.name ?? '');
  const what = type || name || 'unnamed transport socket';
  const tls = /tls|TlsContext|starttls|alts/i.test(`${type} ${name}`);
  ctx.error(path, `transport socket ${name ? `"${name}" ` : ''}(${what}) is not supported${tls ? ': Legate does not implement TLS yet and will not silently send or accept plaintext' : ''}`);
}

/** raw_buffer (plaintext) transport socket, by type or by its well-known name. */
export function isPlaintext(ts: ProtoObj): boolean {
  const type = typeUrlName(ts.typed_config);
  const name = String(ts.name ?? '');
  return type === 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' || (!type && (name === 'envoy.transport_sockets.raw_buffer' || name === 'raw_buffer'));
}

const TLS_TYPE = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

/**
 * transport_socket_matches (how Istio does auto-mTLS): each entry picks a socket for the
 * endpoints whose metadata matches. A TLS entry is accepted, and the endpoints it selects
 * are left out of load balancing (Legate cannot speak TLS, and sending them plaintext could
 * bypass mTLS); raw_buffer entries are plaintext as configured. Other sockets are rejected.
 */
export function decodeTransportSocketMatches(list: ProtoObj[] | undefined, path: string, ctx: DecodeContext): TransportSocketMatchModel[] {
  return (list ?? []).map((m, i) => {
    const ts = m.transport_socket;
    const mpath = `${path}[${i}].transport_socket`;
    let plaintext = true;
    if (ts && !isPlaintext(ts)) {
      if (typeUrlName(ts.typed_config) === TLS_TYPE) plaintext = false;
      else checkTransportSocket(ts, mpath, ctx);
    }
    return { name: String(m.name ?? ''), match: (m.match ?? {}) as Record<string, unknown>, plaintext };
  });
}
