/**
 * Decoded header fields → the header object the router uses (node:http2's
 * IncomingHttpHeaders shape), with HTTP/2's message rules checked on the way (RFC 9113 §8.2,
 * §8.3): lower-case names made of token characters, pseudo-headers first, known and unique,
 * no connection-specific fields, no CR/LF/NUL in values, the request pseudo-headers present.
 * And the reverse: a header object → fields for the encoder.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { HpackEncoder } from './hpack/hpack-encoder';

/** What kind of header block is being read. */
export const enum BlockKind {
  Request,
  Response,
  Trailers,
}

const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
const REQUEST_PSEUDO = new Set([':method', ':scheme', ':authority', ':path', ':protocol']);

/** RFC 9110 token characters, lower-case only (upper-case is malformed in HTTP/2). */
const NAME_CHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") NAME_CHAR[c.charCodeAt(0)] = 1;


/**
 * Header objects inherit nothing (a header named `constructor` or `__proto__` is just a header),
 * like node:http2's, but are made by a constructor so V8 keeps them as fast objects with
 * shared shapes instead of the dictionaries `Object.create(null)` gives.
 */
function HeaderObject(): void {}
HeaderObject.prototype = Object.create(null) as object;

/**
 * Regular names already found valid: names repeat on every request, so each is checked once.
 * Bounded, so a client sending random names cannot grow it.
 */
const validNames = new Set<string>();
const VALID_NAMES_MAX = 4096;

function checkName(name: string): string | undefined {
  for (let k = 0; k < name.length; k++) {
    if (NAME_CHAR[name.charCodeAt(k)] !== 1) return `invalid character in header name ${JSON.stringify(name)}`;
  }
  if (CONNECTION_SPECIFIC.has(name)) return `connection-specific header ${name}`;
  if (validNames.size < VALID_NAMES_MAX) validNames.add(name);
  return undefined;
}

/**
 * Builds the header object from the first `count` entries of `fields` (name, value, name, value, ...). Returns a string
 * naming what is malformed instead when the block breaks a rule (a stream error).
 * Repeated fields are joined as node:http2 joins them: `cookie` with "; ", `set-cookie` kept
 * as an array, others with ", ".
 */
export function headersFromFields(fields: readonly string[], count: number, kind: BlockKind): IncomingHttpHeaders | string {
  const headers = new (HeaderObject as unknown as new () => IncomingHttpHeaders)();
  let regularSeen = false;
  for (let i = 0; i < count; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (name.length === 0) return 'empty header name';
    if (name.charCodeAt(0) === 0x3a /* : */) {
      if (regularSeen) return `pseudo-header ${name} after a regular header`;
      if (kind === BlockKind.Trailers) return `pseudo-header ${name} in trailers`;
      if (kind === BlockKind.Request ? !REQUEST_PSEUDO.has(name) : name !== ':status') return `unknown pseudo-header ${name}`;
      if (headers[name] !== undefined) return `repeated pseudo-header ${name}`;
    } else {
      regularSeen = true;
      if (!validNames.has(name)) {
        const problem = checkName(name);
        if (problem !== undefined) return problem;
      }
      if (name === 'te' && value !== 'trailers') return `te header other than "trailers"`;
    }
    if (hasForbiddenValueChar(value)) return `invalid character in the value of ${name}`;
    if (name === 'content-length' && (headers[name] !== undefined || !isDecimal(value))) return 'invalid or repeated content-length';
    const prev = headers[name];
    if (prev === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = `${prev}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  if (kind === BlockKind.Request) {
    const method = headers[':method'];
    if (method === undefined) return 'missing :method';
    if (method === 'CONNECT' && headers[':protocol'] === undefined) {
      if (headers[':scheme'] !== undefined || headers[':path'] !== undefined) return 'CONNECT with :scheme or :path';
      if (headers[':authority'] === undefined) return 'CONNECT without :authority';
    } else if (headers[':scheme'] === undefined || !headers[':path']) {
      return headers[':scheme'] === undefined ? 'missing :scheme' : 'missing or empty :path';
    }
  } else if (kind === BlockKind.Response) {
    const status = headers[':status'];
    if (status === undefined || !/^[1-9][0-9][0-9]$/.test(status as string)) return 'missing or invalid :status';
  }
  return headers;
}

/** CR, LF or NUL (RFC 9113 §8.2.1). A loop: header values are short, and a RegExp call costs more. */
function hasForbiddenValueChar(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x0d && (c === 0x0d || c === 0x0a || c === 0)) return true;
  }
  return false;
}

function isDecimal(value: string): boolean {
  if (value.length === 0 || value.length > 15) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * Encodes a header object: pseudo-headers first, arrays as repeated fields, undefined skipped.
 * The block is `encoder.buffer[0, length)`, valid until the encoder's next block.
 */
export function encodeHeaders(encoder: HpackEncoder, headers: OutgoingHttpHeaders): number {
  encoder.begin();
  let regular = false;
  for (const name in headers) {
    if (name.charCodeAt(0) !== 0x3a) {
      regular = true;
      continue;
    }
    const v = headers[name];
    if (v !== undefined) encoder.field(name, String(v));
  }
  if (regular) {
    for (const name in headers) {
      if (name.charCodeAt(0) === 0x3a) continue;
      const v = headers[name];
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const item of v) encoder.field(name, item);
      else encoder.field(name, typeof v === 'string' ? v : String(v));
    }
  }
  return encoder.length;
}
