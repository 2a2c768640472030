import type { HashPolicyModel } from '../../snapshot/model';
import { compileRe2 } from '../../router/re2-regex';
import { DecodeContext, durationMs, type ProtoObj } from './decode-context';

/**
 * Decodes `RouteAction.hash_policy[]` (envoy.config.route.v3.RouteAction.HashPolicy). Every
 * policy Envoy has is accepted except `filter_state`, which needs filter state Legate does not
 * keep; it is rejected by name rather than silently hashing nothing.
 */
export function decodeHashPolicies(list: ProtoObj[] | undefined, path: string, ctx: DecodeContext): HashPolicyModel[] {
  const out: HashPolicyModel[] = [];
  (list ?? []).forEach((p, i) => {
    const m = decodeOne(p, `${path}[${i}]`, ctx);
    if (m) out.push(m);
  });
  return out;
}

function decodeOne(p: ProtoObj, path: string, ctx: DecodeContext): HashPolicyModel | undefined {
  const terminal = p.terminal === true;
  if (p.header) {
    const name = String(p.header.header_name ?? '').toLowerCase();
    if (!name) ctx.error(`${path}.header.header_name`, 'header_name is required');
    let regexRewrite: { regex: string; substitution: string } | undefined;
    const rr = p.header.regex_rewrite;
    if (rr) {
      const regex = String(rr.pattern?.regex ?? '');
      const compiled = compileRe2(regex);
      if (!compiled.ok) ctx.error(`${path}.header.regex_rewrite.pattern.regex`, compiled.error);
      regexRewrite = { regex, substitution: String(rr.substitution ?? '') };
    }
    return { kind: 'header', name, regexRewrite, terminal };
  }
  if (p.cookie) {
    const name = String(p.cookie.name ?? '');
    if (!name) ctx.error(`${path}.cookie.name`, 'cookie name is required');
    if ((p.cookie.attributes ?? []).length) ctx.warn(`${path}.cookie.attributes`, 'cookie attributes only matter when the proxy sets the cookie, which Legate does not do');
    const ttlMs = p.cookie.ttl === undefined ? undefined : durationMs(p.cookie.ttl, 0);
    if (ttlMs !== undefined) ctx.warn(`${path}.cookie.ttl`, 'Legate hashes the cookie when the request carries it but does not generate it (no Set-Cookie); requests without it are balanced at random');
    return { kind: 'cookie', name, ttlMs, path: String(p.cookie.path ?? ''), terminal };
  }
  if (p.connection_properties) {
    if (p.connection_properties.source_ip !== true) return undefined; // source_ip: false hashes nothing (Envoy adds no method)
    return { kind: 'source_ip', terminal };
  }
  if (p.query_parameter) {
    const name = String(p.query_parameter.name ?? '');
    if (!name) ctx.error(`${path}.query_parameter.name`, 'query parameter name is required');
    return { kind: 'query_parameter', name, terminal };
  }
  if (p.filter_state) {
    ctx.error(`${path}.filter_state`, 'hash policy on filter_state is not supported (Legate keeps no filter state)');
    return undefined;
  }
  ctx.error(path, 'one of header, cookie, connection_properties or query_parameter is required');
  return undefined;
}
