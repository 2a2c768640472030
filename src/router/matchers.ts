/**
 * Compiled request matchers. Everything is prepared when a route table is built
 * so that matching a request does no parsing and no regex construction.
 */
import type { HeaderMatcherModel, QueryParameterMatcherModel, RouteMatchModel, StringMatcherModel } from '../snapshot/model';
import { compileRe2 } from './re2-regex';

export type HeaderBag = Readonly<Record<string, string | string[] | undefined>>;

export type StringPredicate = (value: string) => boolean;

export function compileStringMatcher(m: StringMatcherModel): StringPredicate {
  if (m.kind === 'regex') {
    const c = compileRe2(m.regex);
    // Decoders reject bad regexes before we get here; never match if one slips through.
    const re = c.ok ? c.regex : /$^/;
    return (v) => re.test(v);
  }
  const want = m.ignoreCase ? m.value.toLowerCase() : m.value;
  const norm = m.ignoreCase ? (v: string) => v.toLowerCase() : (v: string) => v;
  switch (m.kind) {
    case 'exact': return (v) => norm(v) === want;
    case 'prefix': return (v) => norm(v).startsWith(want);
    case 'suffix': return (v) => norm(v).endsWith(want);
    case 'contains': return (v) => norm(v).includes(want);
  }
}

/** Header value as Envoy sees it for matching: repeated headers joined with ",". */
export function headerValue(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

export function compileHeaderMatcher(m: HeaderMatcherModel): (headers: HeaderBag) => boolean {
  const name = m.name;
  if (m.match.kind === 'present') {
    const want = m.match.present !== m.invert;
    return (h) => (h[name] !== undefined) === want;
  }
  let test: StringPredicate;
  if (m.match.kind === 'range') {
    const { start, end } = m.match;
    test = (v) => /^-?\d+$/.test(v) && Number(v) >= start && Number(v) < end;
  } else {
    test = compileStringMatcher(m.match.matcher);
  }
  const invert = m.invert;
  const missingAsEmpty = m.treatMissingAsEmpty;
  return (h) => {
    let v = headerValue(h, name);
    if (v === undefined) {
      // Absent headers never match (even inverted) unless treated as empty.
      if (!missingAsEmpty) return false;
      v = '';
    }
    return test(v) !== invert;
  };
}

function compileQueryMatcher(m: QueryParameterMatcherModel): (query: URLSearchParams | undefined) => boolean {
  const name = m.name;
  if (m.match.kind === 'present') return (q) => q !== undefined && q.has(name);
  const test = compileStringMatcher(m.match.matcher);
  return (q) => {
    const v = q?.get(name);
    return v !== undefined && v !== null && test(v);
  };
}

/** A compiled RouteMatch: path specifier AND headers AND query parameters AND grpc. */
export function compileRouteMatch(m: RouteMatchModel): (path: string, headers: HeaderBag, random?: number) => boolean {
  const cs = m.caseSensitive;
  let pathTest: (path: string) => boolean;
  const p = m.path;
  switch (p.kind) {
    case 'prefix': {
      const want = cs ? p.value : p.value.toLowerCase();
      pathTest = cs ? (x) => x.startsWith(want) : (x) => x.toLowerCase().startsWith(want);
      break;
    }
    case 'path': {
      const want = cs ? p.value : p.value.toLowerCase();
      pathTest = (x) => (cs ? stripQuery(x) : stripQuery(x).toLowerCase()) === want;
      break;
    }
    case 'path_separated_prefix': {
      const want = cs ? p.value : p.value.toLowerCase();
      pathTest = (x) => {
        const s = cs ? stripQuery(x) : stripQuery(x).toLowerCase();
        return s === want || (s.startsWith(want) && s.charCodeAt(want.length) === 47 /* / */);
      };
      break;
    }
    case 'regex': {
      const test = compileStringMatcher({ kind: 'regex', regex: p.regex });
      pathTest = (x) => test(stripQuery(x));
      break;
    }
  }
  const headerTests = m.headers.map(compileHeaderMatcher);
  const queryTests = m.queryParameters.map(compileQueryMatcher);
  const grpc = m.grpc;
  // runtime_fraction: Envoy's `random_value % denominator < numerator`, as a fraction of one million.
  const perMillion = m.runtimeFractionPerMillion;
  if (headerTests.length === 0 && queryTests.length === 0 && !grpc && perMillion === undefined) return (path) => pathTest(path);
  return (path, headers, random = Math.random()) => {
    if (!pathTest(path)) return false;
    if (perMillion !== undefined && Math.floor(random * 1_000_000) >= perMillion) return false;
    if (grpc && !isGrpcContentType(headerValue(headers, 'content-type'))) return false;
    for (const t of headerTests) if (!t(headers)) return false;
    if (queryTests.length) {
      const qi = path.indexOf('?');
      const q = qi >= 0 ? new URLSearchParams(path.slice(qi + 1)) : undefined;
      for (const t of queryTests) if (!t(q)) return false;
    }
    return true;
  };
}

export function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q >= 0 ? path.slice(0, q) : path;
}

/** `application/grpc` or `application/grpc+<subtype>` (also `;` parameters). */
export function isGrpcContentType(ct: string | undefined): boolean {
  if (!ct || !ct.startsWith('application/grpc')) return false;
  const c = ct.charCodeAt(16);
  return Number.isNaN(c) || c === 43 /* + */ || c === 59 /* ; */;
}
