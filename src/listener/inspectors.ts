/**
 * The two peeking listener filters, as pure functions over the bytes read so far:
 * `envoy.filters.listener.tls_inspector` (a TLS ClientHello: SNI and ALPN, without terminating
 * TLS) and `envoy.filters.listener.http_inspector` (HTTP/1.x request line or the HTTP/2
 * prior-knowledge preface → "http/1.0", "http/1.1", "h2c"). Each says whether it has decided or
 * needs more bytes.
 */

export type Inspection<R> = { readonly done: false } | { readonly done: true; readonly result: R | undefined };

const MORE = { done: false } as const;
const NOT_IT = { done: true, result: undefined } as const;

/** Envoy's tls_inspector reads at most 64 KiB of ClientHello. */
const TLS_MAX_CLIENT_HELLO = 64 * 1024;

export interface ClientHello {
  readonly serverName: string;
  readonly alpn: string[];
}

/** Inspects the start of a connection for a TLS ClientHello. */
export function inspectTls(buf: Buffer): Inspection<ClientHello> {
  if (buf.length === 0) return MORE;
  // Handshake record (22), TLS major version 3.
  if (buf[0] !== 0x16) return NOT_IT;
  if (buf.length < 2) return MORE;
  if (buf[1] !== 0x03) return NOT_IT;
  const head = gatherHandshake(buf, 4);
  if (head === null) return NOT_IT;
  if (!head) return buf.length > TLS_MAX_CLIENT_HELLO ? NOT_IT : MORE;
  if (head[0] !== 0x01) return NOT_IT; // not a ClientHello
  const need = head.readUIntBE(1, 3) + 4;
  if (need > TLS_MAX_CLIENT_HELLO) return NOT_IT;
  const hello = gatherHandshake(buf, need);
  if (hello === null) return NOT_IT;
  return hello ? parseClientHello(hello) : MORE;
}

/**
 * The first `need` bytes of handshake data, gathered across TLS records (a ClientHello may span
 * several); undefined until that many arrived, null when a record is not a handshake record.
 */
function gatherHandshake(buf: Buffer, need: number): Buffer | undefined | null {
  const parts: Buffer[] = [];
  let have = 0;
  let off = 0;
  while (off + 5 <= buf.length && have < need) {
    if (buf[off] !== 0x16) return null;
    const len = buf.readUInt16BE(off + 3);
    const end = Math.min(off + 5 + len, buf.length);
    parts.push(buf.subarray(off + 5, end));
    have += end - off - 5;
    off += 5 + len;
  }
  return have >= need ? Buffer.concat(parts).subarray(0, need) : undefined;
}

function parseClientHello(h: Buffer): Inspection<ClientHello> {
  try {
    let p = 4 + 2 + 32; // handshake header, client_version, random
    p += 1 + h[p]!; // session_id
    p += 2 + h.readUInt16BE(p); // cipher_suites
    p += 1 + h[p]!; // compression_methods
    let serverName = '';
    const alpn: string[] = [];
    if (p + 2 <= h.length) {
      const extEnd = Math.min(h.length, p + 2 + h.readUInt16BE(p));
      p += 2;
      while (p + 4 <= extEnd) {
        const type = h.readUInt16BE(p);
        const len = h.readUInt16BE(p + 2);
        const body = h.subarray(p + 4, p + 4 + len);
        p += 4 + len;
        if (type === 0 && body.length >= 5) {
          // server_name: list length, then entries (type 0 = host_name).
          let q = 2;
          while (q + 3 <= body.length) {
            const nameType = body[q]!;
            const nameLen = body.readUInt16BE(q + 1);
            if (nameType === 0) {
              serverName = body.subarray(q + 3, q + 3 + nameLen).toString('latin1').toLowerCase();
              break;
            }
            q += 3 + nameLen;
          }
        } else if (type === 16 && body.length >= 2) {
          let q = 2;
          while (q < body.length) {
            const l = body[q]!;
            alpn.push(body.subarray(q + 1, q + 1 + l).toString('latin1'));
            q += 1 + l;
          }
        }
      }
    }
    return { done: true, result: { serverName, alpn } };
  } catch {
    return NOT_IT;
  }
}

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** Methods llhttp accepts (Envoy's http_inspector parses the request line with it). */
const METHODS = new Set([
  'DELETE', 'GET', 'HEAD', 'POST', 'PUT', 'CONNECT', 'OPTIONS', 'TRACE', 'COPY', 'LOCK', 'MKCOL', 'MOVE', 'PROPFIND',
  'PROPPATCH', 'SEARCH', 'UNLOCK', 'BIND', 'REBIND', 'UNBIND', 'ACL', 'REPORT', 'MKACTIVITY', 'CHECKOUT', 'MERGE',
  'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PATCH', 'PURGE', 'MKCALENDAR', 'LINK', 'UNLINK', 'SOURCE', 'QUERY',
]);
/** Envoy's http_inspector gives up after 64 KiB without a request line. */
const HTTP_MAX = 64 * 1024;

/** Inspects the start of a plaintext connection for HTTP/1.x or the HTTP/2 preface. */
export function inspectHttp(buf: Buffer): Inspection<'h2c' | 'http/1.1' | 'http/1.0'> {
  if (buf.length === 0) return MORE;
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (buf.compare(H2_PREFACE, 0, n, 0, n) === 0) return n === H2_PREFACE.length ? { done: true, result: 'h2c' } : MORE;
  const eol = buf.indexOf('\r\n');
  const line = buf.subarray(0, eol < 0 ? Math.min(buf.length, HTTP_MAX) : eol).toString('latin1');
  const sp = line.indexOf(' ');
  const method = sp < 0 ? line : line.slice(0, sp);
  if (sp < 0) {
    // Still reading the method: keep going only while it can become one.
    for (const m of METHODS) if (m.startsWith(method)) return buf.length >= HTTP_MAX ? NOT_IT : MORE;
    return NOT_IT;
  }
  if (!METHODS.has(method)) return NOT_IT;
  if (eol < 0) return buf.length >= HTTP_MAX ? NOT_IT : MORE;
  const m = /^\S+ \S+ HTTP\/1\.([01])$/.exec(line);
  if (!m) return NOT_IT;
  return { done: true, result: m[1] === '1' ? 'http/1.1' : 'http/1.0' };
}
