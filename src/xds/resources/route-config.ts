import type {
  ClusterSpecifierModel, HeaderMatcherModel, HeaderMutationsModel, HeaderValueOptionModel, QueryParameterMatcherModel,
  RetryPolicyModel, RouteConfigModel, RouteMatchModel, RouteModel, StringMatcherModel, VirtualHostModel, WeightedClusterModel,
} from '../../snapshot/model';
import { compileRe2 } from '../../router/re2-regex';
import { decodeRetryPolicy } from './retry-policy';
import { decodeHashPolicies } from './hash-policy';
import { DecodeContext, durationMs, type ProtoObj } from './decode-context';

/** Route timeout when a route does not set one (Envoy: 15 s). */
export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;

/** Decodes `config.route.v3.RouteConfiguration`. */
export function decodeRouteConfig(rc: ProtoObj, path: string, ctx: DecodeContext): RouteConfigModel {
  const vhosts: VirtualHostModel[] = [];
  const seenDomains = new Map<string, string>();
  (rc.virtual_hosts ?? []).forEach((vh: ProtoObj, i: number) => {
    const vpath = `${path}.virtual_hosts[${i}]`;
    const model = decodeVirtualHost(vh, vpath, ctx);
    for (const d of model.domains) {
      const key = d.toLowerCase();
      const other = seenDomains.get(key);
      if (other !== undefined) {
        ctx.error(`${vpath}.domains`, `domain "${d}" is also used by virtual host "${other}" (Envoy rejects duplicate domains)`);
      }
      seenDomains.set(key, model.name);
    }
    vhosts.push(model);
  });
  if (rc.vhds) ctx.error(`${path}.vhds`, 'VHDS is not supported');
  return {
    name: String(rc.name ?? ''),
    virtualHosts: vhosts,
    ignorePortInHostMatching: rc.ignore_port_in_host_matching === true,
    requestHeaders: decodeMutations(rc.request_headers_to_add, rc.request_headers_to_remove, path, 'request', ctx),
    responseHeaders: decodeMutations(rc.response_headers_to_add, rc.response_headers_to_remove, path, 'response', ctx),
  };
}

function decodeVirtualHost(vh: ProtoObj, path: string, ctx: DecodeContext): VirtualHostModel {
  const domains: string[] = (vh.domains ?? []).map(String);
  if (domains.length === 0) ctx.error(`${path}.domains`, 'at least one domain is required');
  domains.forEach((d, j) => {
    if (d !== '*' && d.indexOf('*') !== d.lastIndexOf('*')) {
      ctx.error(`${path}.domains[${j}]`, `domain "${d}" may contain at most one wildcard`);
    } else if (d.length > 1 && d.includes('*') && !d.startsWith('*') && !d.endsWith('*')) {
      ctx.error(`${path}.domains[${j}]`, `wildcard in domain "${d}" must be a prefix or a suffix`);
    }
  });
  if (vh.require_tls && vh.require_tls !== 'NONE') ctx.error(`${path}.require_tls`, 'require_tls is not supported (no TLS yet)');
  // A virtual host's retry_policy applies to routes that have none (Envoy: route wins, no merge).
  const vhostRetry = vh.retry_policy ? decodeRetryPolicy(vh.retry_policy, `${path}.retry_policy`, ctx) : undefined;
  const routes: RouteModel[] = (vh.routes ?? []).map((r: ProtoObj, j: number) => decodeRoute(r, `${path}.routes[${j}]`, ctx, vhostRetry));
  return {
    name: String(vh.name ?? ''),
    domains,
    routes,
    includeRequestAttemptCount: vh.include_request_attempt_count === true,
    requestHeaders: decodeMutations(vh.request_headers_to_add, vh.request_headers_to_remove, path, 'request', ctx),
    responseHeaders: decodeMutations(vh.response_headers_to_add, vh.response_headers_to_remove, path, 'response', ctx),
  };
}

function decodeRoute(r: ProtoObj, path: string, ctx: DecodeContext, vhostRetry: RetryPolicyModel | undefined): RouteModel {
  const match = decodeRouteMatch(r.match ?? {}, `${path}.match`, ctx);
  let action: RouteModel['action'];
  if (r.route) {
    action = decodeRouteAction(r.route, `${path}.route`, ctx, vhostRetry);
  } else if (r.direct_response) {
    const d = r.direct_response;
    const status = Number(d.status ?? 0);
    if (status < 200 || status > 599) ctx.error(`${path}.direct_response.status`, `status ${status} must be in [200, 599]`);
    const body = d.body?.inline_string ?? (d.body?.inline_bytes ? Buffer.from(d.body.inline_bytes).toString() : undefined);
    if (d.body?.filename) ctx.error(`${path}.direct_response.body.filename`, 'file bodies are not supported; use inline_string');
    action = { kind: 'direct_response', status, body };
  } else if (r.redirect) {
    const rd = r.redirect;
    const codes: Record<string, number> = { MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308 };
    action = {
      kind: 'redirect',
      status: codes[String(rd.response_code ?? 'MOVED_PERMANENTLY')] ?? 301,
      hostRedirect: rd.host_redirect,
      pathRedirect: rd.path_redirect,
      schemeRedirect: rd.scheme_redirect ?? (rd.https_redirect ? 'https' : undefined),
    };
  } else {
    ctx.error(path, 'one of route, direct_response or redirect is required (filter_action and non_forwarding_action are not supported)');
    action = { kind: 'direct_response', status: 500, body: undefined };
  }
  return {
    name: String(r.name ?? ''),
    match,
    action,
    requestHeaders: decodeMutations(r.request_headers_to_add, r.request_headers_to_remove, path, 'request', ctx),
    responseHeaders: decodeMutations(r.response_headers_to_add, r.response_headers_to_remove, path, 'response', ctx),
  };
}

function decodeRouteMatch(m: ProtoObj, path: string, ctx: DecodeContext): RouteMatchModel {
  let pathMatch: RouteMatchModel['path'];
  if (m.prefix !== undefined) pathMatch = { kind: 'prefix', value: String(m.prefix) };
  else if (m.path !== undefined) pathMatch = { kind: 'path', value: String(m.path) };
  else if (m.safe_regex !== undefined) {
    const regex = String(m.safe_regex.regex ?? '');
    const compiled = compileRe2(regex);
    if (!compiled.ok) ctx.error(`${path}.safe_regex.regex`, compiled.error);
    pathMatch = { kind: 'regex', regex };
  } else if (m.path_separated_prefix !== undefined) {
    const v = String(m.path_separated_prefix);
    if (v.endsWith('/') || /[?#]/.test(v)) ctx.error(`${path}.path_separated_prefix`, `"${v}" must not end with "/" nor contain "?" or "#"`);
    pathMatch = { kind: 'path_separated_prefix', value: v };
  } else {
    const other = ['connect_matcher', 'path_match_policy'].find((k) => m[k] !== undefined);
    ctx.error(path, other ? `${other} is not supported` : 'a path specifier (prefix, path, safe_regex, path_separated_prefix) is required');
    pathMatch = { kind: 'prefix', value: '/' };
  }
  for (const k of ['dynamic_metadata', 'tls_context', 'filter_state', 'cookies']) {
    if (m[k] !== undefined) ctx.error(`${path}.${k}`, `route match on ${k} is not supported yet`);
  }
  return {
    runtimeFractionPerMillion: m.runtime_fraction !== undefined ? decodeRuntimeFraction(m.runtime_fraction, `${path}.runtime_fraction`, ctx) : undefined,
    path: pathMatch,
    caseSensitive: m.case_sensitive !== false,
    headers: (m.headers ?? []).map((h: ProtoObj, i: number) => decodeHeaderMatcher(h, `${path}.headers[${i}]`, ctx)),
    queryParameters: (m.query_parameters ?? []).map((q: ProtoObj, i: number) => decodeQueryMatcher(q, `${path}.query_parameters[${i}]`, ctx)),
    grpc: m.grpc !== undefined,
  };
}

const DENOMINATORS: Record<string, number> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

/**
 * `runtime_fraction` (RuntimeFractionalPercent): Legate has no runtime layer, so the
 * `default_value` always applies (as in an Envoy whose runtime lacks the key). Returned as
 * parts per million, capped at 100%.
 */
function decodeRuntimeFraction(rf: ProtoObj, path: string, ctx: DecodeContext): number {
  const dv = rf.default_value;
  if (!dv) {
    ctx.error(`${path}.default_value`, 'default_value is required');
    return 0;
  }
  const denomName = String(dv.denominator ?? 'HUNDRED');
  const denom = DENOMINATORS[denomName];
  if (denom === undefined) {
    ctx.error(`${path}.default_value.denominator`, `unknown denominator ${denomName}`);
    return 0;
  }
  const num = Number(dv.numerator ?? 0);
  return Math.min(1_000_000, Math.round((num * 1_000_000) / denom));
}

export function decodeStringMatcher(s: ProtoObj, path: string, ctx: DecodeContext): StringMatcherModel {
  const ignoreCase = s.ignore_case === true;
  for (const kind of ['exact', 'prefix', 'suffix', 'contains'] as const) {
    if (s[kind] !== undefined) {
      if (kind !== 'exact' && String(s[kind]) === '') ctx.error(`${path}.${kind}`, `${kind} must not be empty`);
      return { kind, value: String(s[kind]), ignoreCase };
    }
  }
  if (s.safe_regex !== undefined) {
    const regex = String(s.safe_regex.regex ?? '');
    const compiled = compileRe2(regex);
    if (!compiled.ok) ctx.error(`${path}.safe_regex.regex`, compiled.error);
    return { kind: 'regex', regex };
  }
  ctx.error(path, 'one of exact, prefix, suffix, contains or safe_regex is required');
  return { kind: 'exact', value: '', ignoreCase };
}

export function decodeHeaderMatcher(h: ProtoObj, path: string, ctx: DecodeContext): HeaderMatcherModel {
  const name = String(h.name ?? '').toLowerCase();
  if (!name) ctx.error(`${path}.name`, 'header name is required');
  let match: HeaderMatcherModel['match'];
  const legacy: Record<string, StringMatcherModel['kind']> = { exact_match: 'exact', prefix_match: 'prefix', suffix_match: 'suffix', contains_match: 'contains' };
  const legacyKey = Object.keys(legacy).find((k) => h[k] !== undefined);
  if (h.string_match) match = { kind: 'string', matcher: decodeStringMatcher(h.string_match, `${path}.string_match`, ctx) };
  else if (legacyKey) match = { kind: 'string', matcher: { kind: legacy[legacyKey] as 'exact', value: String(h[legacyKey]), ignoreCase: false } };
  else if (h.safe_regex_match) {
    const regex = String(h.safe_regex_match.regex ?? '');
    const compiled = compileRe2(regex);
    if (!compiled.ok) ctx.error(`${path}.safe_regex_match.regex`, compiled.error);
    match = { kind: 'string', matcher: { kind: 'regex', regex } };
  } else if (h.range_match) match = { kind: 'range', start: Number(h.range_match.start ?? 0), end: Number(h.range_match.end ?? 0) };
  else if (h.present_match !== undefined) match = { kind: 'present', present: h.present_match === true };
  else match = { kind: 'present', present: true };
  return { name, invert: h.invert_match === true, treatMissingAsEmpty: h.treat_missing_header_as_empty === true, match };
}

function decodeQueryMatcher(q: ProtoObj, path: string, ctx: DecodeContext): QueryParameterMatcherModel {
  const name = String(q.name ?? '');
  if (!name) ctx.error(`${path}.name`, 'query parameter name is required');
  if (q.string_match) return { name, match: { kind: 'string', matcher: decodeStringMatcher(q.string_match, `${path}.string_match`, ctx) } };
  return { name, match: { kind: 'present' } };
}

function decodeRouteAction(a: ProtoObj, path: string, ctx: DecodeContext, vhostRetry: RetryPolicyModel | undefined) {
  let cluster: ClusterSpecifierModel;
  if (a.cluster !== undefined) {
    if (!a.cluster) ctx.error(`${path}.cluster`, 'cluster name must not be empty');
    cluster = { kind: 'cluster', name: String(a.cluster) };
  } else if (a.weighted_clusters) {
    const clusters: WeightedClusterModel[] = (a.weighted_clusters.clusters ?? []).map((c: ProtoObj, i: number) => {
      const cpath = `${path}.weighted_clusters.clusters[${i}]`;
      if (c.cluster_header) ctx.error(`${cpath}.cluster_header`, 'cluster_header in weighted clusters is not supported');
      if (!c.name) ctx.error(`${cpath}.name`, 'cluster name is required');
      return {
        name: String(c.name ?? ''),
        weight: Number(c.weight ?? 0),
        requestHeaders: decodeMutations(c.request_headers_to_add, c.request_headers_to_remove, cpath, 'request', ctx),
        responseHeaders: decodeMutations(c.response_headers_to_add, c.response_headers_to_remove, cpath, 'response', ctx),
      };
    });
    const sum = clusters.reduce((s, c) => s + c.weight, 0);
    if (clusters.length === 0) ctx.error(`${path}.weighted_clusters.clusters`, 'at least one cluster is required');
    else if (sum <= 0) ctx.error(`${path}.weighted_clusters`, 'the sum of weights must be greater than 0');
    const total = a.weighted_clusters.total_weight;
    // v3 semantics: the sum of weights is the total. Older configs (Istio <= 1.13) still send
    // total_weight; Envoy accepted it when it equalled the sum, and so do we.
    if (total !== undefined && total !== 0 && total !== sum) {
      ctx.error(`${path}.weighted_clusters.total_weight`, `total_weight ${total} does not equal the sum of weights ${sum}`);
    }
    if (a.weighted_clusters.runtime_key_prefix) ctx.warn(`${path}.weighted_clusters.runtime_key_prefix`, 'runtime weights are not supported; config weights are used');
    cluster = { kind: 'weighted', clusters };
  } else if (a.cluster_header !== undefined) {
    cluster = { kind: 'header', header: String(a.cluster_header).toLowerCase() };
  } else {
    ctx.error(path, 'one of cluster, weighted_clusters or cluster_header is required (cluster_specifier_plugin is not supported)');
    cluster = { kind: 'cluster', name: '' };
  }
  const msd = a.max_stream_duration;
  let grpcMax: number | undefined;
  let grpcOffset = 0;
  if (msd?.grpc_timeout_header_max !== undefined) {
    grpcMax = durationMs(msd.grpc_timeout_header_max, 0);
    grpcOffset = durationMs(msd.grpc_timeout_header_offset, 0);
  } else if (a.max_grpc_timeout !== undefined) {
    grpcMax = durationMs(a.max_grpc_timeout, 0);
    grpcOffset = durationMs(a.grpc_timeout_offset, 0);
  }
  let regexRewrite: { regex: string; substitution: string } | undefined;
  if (a.regex_rewrite) {
    const rr = a.regex_rewrite;
    const regex = String(rr.pattern?.regex ?? '');
    if (!rr.pattern) ctx.error(`${path}.regex_rewrite.pattern`, 'pattern is required');
    const compiled = compileRe2(regex);
    if (!compiled.ok) ctx.error(`${path}.regex_rewrite.pattern.regex`, compiled.error);
    if (a.prefix_rewrite !== undefined) ctx.error(`${path}.regex_rewrite`, 'only one of prefix_rewrite and regex_rewrite may be set');
    regexRewrite = { regex, substitution: String(rr.substitution ?? '') };
  }
  const priority = String(a.priority ?? 'DEFAULT');
  if (priority !== 'DEFAULT' && priority !== 'HIGH') ctx.error(`${path}.priority`, `unknown routing priority ${priority}`);
  return {
    kind: 'route' as const,
    cluster,
    timeoutMs: durationMs(a.timeout, DEFAULT_ROUTE_TIMEOUT_MS),
    grpcTimeoutHeaderMaxMs: grpcMax,
    grpcTimeoutHeaderOffsetMs: grpcOffset,
    maxStreamDurationMs: durationMs(msd?.max_stream_duration, 0),
    prefixRewrite: a.prefix_rewrite,
    hostRewriteLiteral: a.host_rewrite_literal,
    clusterNotFoundStatus: a.cluster_not_found_response_code === 'NOT_FOUND' ? 404 : a.cluster_not_found_response_code === 'INTERNAL_SERVER_ERROR' ? 500 : 503,
    retryPolicy: a.retry_policy ? decodeRetryPolicy(a.retry_policy, `${path}.retry_policy`, ctx) : vhostRetry,
    hashPolicy: decodeHashPolicies(a.hash_policy, `${path}.hash_policy`, ctx),
    priority: priority === 'HIGH' ? 'HIGH' as const : 'DEFAULT' as const,
    regexRewrite,
    idleTimeoutMs: a.idle_timeout !== undefined ? durationMs(a.idle_timeout, 0) : undefined,
  };
}

const APPEND_ACTIONS: Record<string, HeaderValueOptionModel['action']> = {
  APPEND_IF_EXISTS_OR_ADD: 'append',
  ADD_IF_ABSENT: 'add_if_absent',
  OVERWRITE_IF_EXISTS_OR_ADD: 'overwrite',
  OVERWRITE_IF_EXISTS: 'overwrite_if_exists',
};

export function decodeMutations(add: ProtoObj[] | undefined, remove: string[] | undefined, path: string, which: 'request' | 'response', ctx: DecodeContext): HeaderMutationsModel {
  const out: HeaderValueOptionModel[] = [];
  (add ?? []).forEach((o, i) => {
    const key = String(o.header?.key ?? '').toLowerCase();
    if (!key) ctx.error(`${path}.${which}_headers_to_add[${i}].header.key`, 'header key is required');
    let action = APPEND_ACTIONS[String(o.append_action ?? 'APPEND_IF_EXISTS_OR_ADD')] ?? 'append';
    if (o.append === false) action = 'overwrite';
    out.push({ key, value: String(o.header?.value ?? ''), action });
  });
  return { add: out, remove: (remove ?? []).map((h) => String(h).toLowerCase()) };
}
