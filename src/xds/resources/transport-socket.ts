import { typeUrlName, type DecodeContext, type ProtoObj } from './decode-context';

/**
 * Legate has no TLS yet. A TLS transport socket must never be accepted as a no-op
 * (that would send plaintext where the operator asked for encryption, or accept
 * unauthenticated peers), so anything but raw_buffer is rejected by name.
 */
export function checkTransportSocket(ts: ProtoObj | undefined, path: string, ctx: DecodeContext): void {
  if (!ts) return;
  const type = typeUrlName(ts.typed_config);
  const name = String(ts.name ?? '');
  if (type === 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' || (!type && (name === 'envoy.transport_sockets.raw_buffer' || name === 'raw_buffer'))) {
    return;
  }
  const what = type || name || 'unnamed transport socket';
  ctx.error(path, `transport socket ${name ? `"${name}" ` : ''}(${what}) is not supported: Legate does not implement TLS yet and will not silently send or accept plaintext`);
}
