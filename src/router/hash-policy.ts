/**
 * A route's `hash_policy`, compiled once per route table, and the per-request hash it yields
 * for RING_HASH and MAGLEV clusters (Envoy's source/common/http/hash_policy.cc).
 *
 * Policies are evaluated in order. Each one that produces a value is combined as
 * `hash = rotl64(hash, 1) XOR value` (so two identical policies don't cancel out); a `terminal`
 * policy that produced a hash (combined so far) stops the evaluation. No value at all → undefined,
 * and the load balancer then picks at random, as Envoy does.
 */
import type { HashPolicyModel } from '../snapshot/model';
import { xxHash64, xxHash64Chain } from '../upstream/pickers/xxhash64';

type HeaderRecord = Readonly<Record<string, string | string[] | undefined>>;

interface CompiledMethod {
  readonly terminal: boolean;
  evaluate(headers: HeaderRecord, remoteAddress: string): bigint | undefined;
}

/** A compiled hash policy: the route's hash methods in order. */
export interface HashPolicy {
  readonly methods: readonly CompiledMethod[];
}

const MASK = 0xffffffffffffffffn;

/** Compiles `hash_policy[]`; undefined when the route has none (so no hashing work per request). */
export function compileHashPolicy(models: readonly HashPolicyModel[] | undefined): HashPolicy | undefined {
  if (!models || models.length === 0) return undefined;
  return { methods: models.map(compileMethod) };
}

/**
 * The request's hash, or undefined when no policy produced one. `headers` are the downstream
 * request headers (lower-case names, pseudo-headers included: `:path` is read for
 * query_parameter); `remoteAddress` is the downstream peer (an IP, or `ip:port`/`[ip]:port`).
 */
export function computeRequestHash(policy: HashPolicy, headers: HeaderRecord, remoteAddress: string): bigint | undefined {
  let hash: bigint | undefined;
  for (const m of policy.methods) {
    const v = m.evaluate(headers, remoteAddress);
    if (v !== undefined) {
      const old = hash === undefined ? 0n : ((hash << 1n) | (hash >> 63n)) & MASK;
      hash = old ^ v;
    }
    if (m.terminal && hash !== undefined) break;
  }
  return hash;
}

function compileMethod(m: HashPolicyModel): CompiledMethod {
  const terminal = m.terminal;
  switch (m.kind) {
    case 'header': {
      const name = m.name;
      const rw = m.regexRewrite;
      const re = rw ? new RegExp(rw.regex.replace(/\(\?P</g, '(?<'), 'g') : undefined;
      // RE2 substitutions refer to groups as \1; JavaScript's replace wants $1 (and $$ for a literal $).
      const sub = rw ? rw.substitution.replace(/\$/g, '$$$$').replace(/\\(\d)/g, '$$$1') : '';
      return {
        terminal,
        evaluate(headers) {
          const v = headers[name];
          if (v === undefined) return undefined;
          let values = typeof v === 'string' ? [v] : v.slice();
          if (values.length === 0) return undefined;
          if (re) values = values.map((x) => x.replace(re, sub));
          // Envoy sorts the values so their order does not change the hash.
          if (values.length > 1) values.sort(compareBytes);
          return xxHash64Chain(values);
        },
      };
    }
    case 'cookie': {
      const name = m.name;
      return {
        terminal,
        evaluate(headers) {
          const value = cookieValue(headers['cookie'], name);
          // Envoy would generate the cookie here when a ttl is configured (and send Set-Cookie);
          // Legate only reads it, so a request without it gets no hash from this policy.
          return value ? xxHash64(value) : undefined;
        },
      };
    }
    case 'source_ip':
      return {
        terminal,
        evaluate(_headers, remoteAddress) {
          const ip = ipOf(remoteAddress);
          return ip ? xxHash64(ip) : undefined;
        },
      };
    case 'query_parameter': {
      const name = m.name;
      return {
        terminal,
        evaluate(headers) {
          const path = headers[':path'];
          const p = typeof path === 'string' ? path : path?.[0];
          if (p === undefined) return undefined;
          const v = firstQueryValue(p, name);
          return v === undefined ? undefined : xxHash64(v);
        },
      };
    }
  }
}

/** std::sort on string_view: byte order (UTF-16 code unit order equals it for ASCII header values). */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Envoy's Http::Utility::parseCookieValue: the first `name=value` among all Cookie headers,
 * value taken verbatim (surrounding double quotes removed).
 */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const lines = typeof header === 'string' ? [header] : header;
  for (const line of lines) {
    for (const part of line.split(';')) {
      const s = part.trim();
      const eq = s.indexOf('=');
      if (eq < 0 || s.slice(0, eq) !== name) continue;
      let v = s.slice(eq + 1);
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v;
    }
  }
  return undefined;
}

/**
 * Envoy's QueryParamsMulti::parseQueryString + getFirstValue: the raw (not percent-decoded)
 * value of the first `name=` in the query; a bare `name` has the value ''.
 */
export function firstQueryValue(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  let end = path.indexOf('#', q);
  if (end < 0) end = path.length;
  for (const part of path.slice(q + 1, end).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (key === name) return eq < 0 ? '' : part.slice(eq + 1);
  }
  return undefined;
}

/** The IP of `remoteAddress` as Envoy's `Ip::addressAsString()` prints it (no port, no brackets). */
function ipOf(a: string): string {
  if (a.startsWith('[')) return a.slice(1, a.indexOf(']'));
  const c = a.lastIndexOf(':');
  return c > 0 && a.indexOf(':') === c ? a.slice(0, c) : a;
}
