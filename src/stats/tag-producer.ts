/**
 * Tag extraction exactly as Envoy's `TagProducerImpl` does it
 * (`envoyproxy/envoy:source/common/stats/tag_producer_impl.cc`, `tag_extractor_impl.cc`,
 * default descriptors in `source/common/config/well_known_names.cc`):
 *
 * - every extractor looks at the *original* name; the characters each one removes are
 *   collected and removed at the end;
 * - regex extractors: group 1 is removed, group 2 (or 1) is the value; a `substr` hint must
 *   occur in the name; a negative value ("admin" for listener_address) is refused;
 * - tokenized extractors (`cluster.$.**`): `$` captures one dot-free token, `*` skips one,
 *   `**` any number; the token and its dot are removed;
 * - order: extractors without a prefix token first, then those registered for the name's
 *   first token, each list in registration order (all default regexes, then the tokenized
 *   defaults, then `--stats-tag` fixed tags, then `stats_config.stats_tags`);
 * - when two extractors share a tag name, the first that matches wins.
 *
 * The consequence for Istio's dotted cluster names under Envoy's defaults:
 * `cluster.outbound|50052||svc.ns.svc.cluster.local.upstream_rq_total` yields
 * `envoy.cluster_name="outbound|50052||svc"` and the name `cluster.ns.svc.cluster.local.upstream_rq_total`.
 * Istio's own bootstrap avoids that with `use_all_default_tags: false`, `alt_stat_name: "<name>;"`
 * and the regex `^cluster(\.(.+);)`.
 */

export interface Tag {
  readonly name: string;
  readonly value: string;
}

export interface TaggedName {
  /** The name with every extracted part removed (Envoy's `tagExtractedName`). */
  readonly extracted: string;
  readonly tags: readonly Tag[];
}

type Interval = [number, number];

interface Extractor {
  readonly name: string;
  /** First token of the names this extractor can match; '' = try on every name. */
  readonly prefix: string;
  sharedName: boolean;
  extract(name: string, tokens: readonly string[], tags: Tag[], remove: Interval[]): boolean;
}

/** A default descriptor: RE2 regex (translated to JS) or a token pattern. */
interface Descriptor {
  readonly name: string;
  readonly regex?: string;
  readonly tokens?: string;
  readonly substr?: string;
  readonly negative?: string;
}

const TAG_VALUE = '[^\\.]+';
const ADDRESS = '(?:(?:\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}|\\[[a-fA-F_\\d]+\\])_\\d+)';
const CIPHER = '[\\w-]+';
const expand = (re: string): string => re
  .replace(/<ADDRESS>/g, ADDRESS).replace(/<CIPHER>/g, CIPHER).replace(/<TLS_VERSION>/g, 'TLSv\\d\\.\\d')
  .replace(/<TAG_VALUE>/g, TAG_VALUE).replace(/<ROUTE_CONFIG_NAME>/g, '[\\w\\-\\.]+')
  .replace(/<LISTENER_OR_CLUSTER_WITH_NAME>/g, '(?:listener|cluster)\\..*?');

/** Envoy's default regex descriptors, in `well_known_names.cc` order. */
const DEFAULT_REGEXES: readonly Descriptor[] = [
  { name: 'envoy.response_code', regex: '_rq(_(\\d{3}))$', substr: '_rq_' },
  { name: 'envoy.response_code_class', regex: '_rq_((\\d))xx$', substr: '_rq_' },
  { name: 'envoy.dynamo_partition_id', regex: expand('^http\\.<TAG_VALUE>\\.dynamodb\\.table\\.<TAG_VALUE>\\.capacity\\.<TAG_VALUE>(\\.__partition_id=(\\w{7}))$'), substr: '.dynamodb.table.' },
  { name: 'envoy.dynamo_operation', regex: expand('^http\\.<TAG_VALUE>\\.dynamodb.(?:operation|table\\.<TAG_VALUE>\\.capacity)(\\.(<TAG_VALUE>))(?:\\.|$)'), substr: '.dynamodb.' },
  { name: 'envoy.dynamo_table', regex: expand('^http\\.<TAG_VALUE>\\.dynamodb.(?:table|error)\\.((<TAG_VALUE>)\\.)'), substr: '.dynamodb.' },
  { name: 'envoy.ssl_cipher', regex: expand('^listener\\..*?\\.ssl\\.ciphers(\\.(<CIPHER>))$'), substr: '.ssl.ciphers.' },
  { name: 'envoy.ssl_curve', regex: expand('^<LISTENER_OR_CLUSTER_WITH_NAME>\\.ssl\\.curves(\\.(<CIPHER>))$'), substr: '.ssl.curves.' },
  { name: 'envoy.ssl_sigalg', regex: expand('^<LISTENER_OR_CLUSTER_WITH_NAME>\\.ssl\\.sigalgs(\\.(<CIPHER>))$'), substr: '.ssl.sigalgs.' },
  { name: 'envoy.ssl_version', regex: expand('^<LISTENER_OR_CLUSTER_WITH_NAME>\\.ssl\\.versions(\\.(<TLS_VERSION>))$'), substr: '.ssl.versions.' },
  { name: 'cipher_suite', regex: expand('^cluster\\.<TAG_VALUE>\\.ssl\\.ciphers(\\.(<CIPHER>))$'), substr: '.ssl.ciphers.' },
  { name: 'envoy.http_conn_manager_prefix', regex: expand('^listener\\..*?\\.http\\.((<TAG_VALUE>)\\.)'), substr: '.http.' },
  { name: 'envoy.worker_id', regex: expand('^(?:listener\\.(?:<ADDRESS>|<TAG_VALUE>)\\.|server\\.|listener_manager\\.)worker_((\\d+)\\.)') },
  { name: 'envoy.listener_address', regex: expand('^listener\\.((<ADDRESS>|<TAG_VALUE>)\\.)'), negative: 'admin' },
  { name: 'envoy.rds_route_config', regex: expand('^http\\.<TAG_VALUE>\\.rds\\.((<ROUTE_CONFIG_NAME>)\\.)\\w+?$'), substr: '.rds.' },
];

/** Envoy's default tokenized descriptors, in order. */
const DEFAULT_TOKENS: readonly Descriptor[] = [
  { name: 'envoy.mongo_callsite', tokens: 'mongo.*.collection.*.callsite.$.query.**' },
  { name: 'envoy.mongo_collection', tokens: 'mongo.*.collection.$.**.query.*' },
  { name: 'envoy.mongo_cmd', tokens: 'mongo.*.cmd.$.**' },
  { name: 'envoy.grpc_bridge_method', tokens: 'cluster.*.grpc.*.$.**' },
  { name: 'envoy.user_agent', tokens: 'http.*.user_agent.$.**' },
  { name: 'envoy.virtual_cluster', tokens: 'vhost.*.vcluster.$.**' },
  { name: 'envoy.fault_downstream_cluster', tokens: 'http.*.fault.$.**' },
  { name: 'envoy.grpc_bridge_service', tokens: 'cluster.*.grpc.$.**' },
  { name: 'envoy.tcp_prefix', tokens: 'tcp.$.**' },
  { name: 'envoy.udp_prefix', tokens: 'udp.$.**' },
  { name: 'envoy.clientssl_prefix', tokens: 'auth.clientssl.$.**' },
  { name: 'envoy.ratelimit_prefix', tokens: 'ratelimit.$.**' },
  { name: 'envoy.cluster_name', tokens: 'cluster.$.**' },
  { name: 'envoy.ext_authz_prefix', tokens: 'cluster.*.ext_authz.$.**' },
  { name: 'envoy.ext_authz_prefix', tokens: 'http.*.ext_authz.$.**' },
  { name: 'envoy.http_conn_manager_prefix', tokens: 'http.$.**' },
  { name: 'envoy.virtual_host', tokens: 'vhost.$.**' },
  { name: 'envoy.mongo_prefix', tokens: 'mongo.$.**' },
  { name: 'envoy.route', tokens: 'vhost.*.route.$.**' },
  { name: 'envoy.thrift_prefix', tokens: 'thrift.$.**' },
  { name: 'envoy.redis_prefix', tokens: 'redis.$.**' },
  { name: 'envoy.local_http_ratelimit_prefix', tokens: '$.http_local_rate_limit.**' },
  { name: 'envoy.local_network_ratelimit_prefix', tokens: 'local_rate_limit.$.**' },
  { name: 'envoy.local_listener_ratelimit_prefix', tokens: 'listener_local_ratelimit.$.**' },
  { name: 'envoy.dns_filter_prefix', tokens: 'dns_filter.$.**' },
];

/** One `stats_config.stats_tags` entry (or a `--stats-tag`). */
export type TagSpecifier =
  | { readonly name: string; readonly regex: string }
  | { readonly name: string; readonly fixedValue: string }
  | { readonly name: string };

export interface TagProducerConfig {
  /** `stats_config.use_all_default_tags`; default true. */
  readonly useAllDefaultTags?: boolean;
  /** `--stats-tag name:value`, added before `stats_tags`. */
  readonly cliTags?: readonly Tag[];
  readonly statsTags?: readonly TagSpecifier[];
}

/**
 * Translates the POSIX classes std::regex (ECMAScript grammar, what Envoy uses for
 * user-supplied tag regexes) and RE2 accept inside brackets to JavaScript ranges.
 */
export function toJsRegexSource(re: string): string {
  return re
    .replace(/\[:digit:\]/g, '0-9').replace(/\[:alpha:\]/g, 'A-Za-z').replace(/\[:alnum:\]/g, '0-9A-Za-z')
    .replace(/\[:upper:\]/g, 'A-Z').replace(/\[:lower:\]/g, 'a-z').replace(/\[:space:\]/g, '\\s')
    .replace(/\[:xdigit:\]/g, '0-9A-Fa-f').replace(/\[:word:\]/g, '\\w');
}

/** `TagExtractorImplBase::extractRegexPrefix`. */
function regexPrefix(re: string): string {
  if (!re.startsWith('^')) return '';
  for (let i = 1; i < re.length; i++) {
    const c = re[i]!;
    if (/[A-Za-z0-9_]/.test(c)) continue;
    if (i > 1) {
      const rest = re.slice(i);
      const last = i === re.length - 1;
      if ((!last && (rest.startsWith('\\.') || rest.startsWith('(?=\\.)'))) || (last && c === '$')) return re.slice(1, i);
    }
    return '';
  }
  return '';
}

class RegexExtractor implements Extractor {
  readonly prefix: string;
  sharedName = false;
  private readonly re: RegExp;

  constructor(readonly name: string, source: string, private readonly substr = '', private readonly negative = '') {
    this.re = new RegExp(toJsRegexSource(source), 'd');
    this.prefix = regexPrefix(source);
  }

  extract(name: string, _tokens: readonly string[], tags: Tag[], remove: Interval[]): boolean {
    if (this.substr && !name.includes(this.substr)) return false;
    const m = this.re.exec(name);
    if (!m || !m[1] || !m.indices?.[1]) return false;
    const value = m[2] !== undefined && m[2] !== '' ? m[2] : m[1];
    if (this.negative && value === this.negative) return false;
    tags.push({ name: this.name, value });
    remove.push([m.indices[1][0], m.indices[1][1]]);
    return true;
  }
}

class TokenExtractor implements Extractor {
  readonly prefix: string;
  sharedName = false;
  private readonly pattern: readonly string[];

  constructor(readonly name: string, pattern: string) {
    this.pattern = pattern.split('.');
    const first = this.pattern[0]!;
    this.prefix = first === '$' || first === '*' || first === '**' ? '' : first;
  }

  extract(name: string, tokens: readonly string[], tags: Tag[], remove: Interval[]): boolean {
    const at = match(this.pattern, 0, tokens, 0);
    if (at < 0) return false;
    let start = 0;
    for (let i = 0; i < at; i++) start += tokens[i]!.length + 1;
    const value = tokens[at]!;
    // The token and the dot after it (or before it, for a last token).
    const end = start + value.length;
    if (at < tokens.length - 1) remove.push([start, end + 1]);
    else remove.push([Math.max(0, start - 1), end]);
    tags.push({ name: this.name, value });
    void name;
    return true;
  }
}

/** Matches pattern tokens from `p` against name tokens from `n`; returns the index of the `$` token or -1. */
function match(pattern: readonly string[], p: number, tokens: readonly string[], n: number, captured = -1): number {
  if (p === pattern.length) return n === tokens.length ? captured : -1;
  const t = pattern[p]!;
  if (t === '**') {
    for (let k = n; k <= tokens.length; k++) {
      const r = match(pattern, p + 1, tokens, k, captured);
      if (r >= 0) return r;
    }
    return -1;
  }
  if (n >= tokens.length) return -1;
  if (t === '$') return match(pattern, p + 1, tokens, n + 1, n);
  if (t === '*' || t === tokens[n]) return match(pattern, p + 1, tokens, n + 1, captured);
  return -1;
}

class FixedExtractor implements Extractor {
  readonly prefix = '';
  sharedName = false;
  constructor(readonly name: string, private readonly value: string) {}
  extract(_n: string, _t: readonly string[], tags: Tag[]): boolean {
    tags.push({ name: this.name, value: this.value });
    return true;
  }
}

function fromDescriptor(d: Descriptor): Extractor {
  return d.tokens !== undefined ? new TokenExtractor(d.name, d.tokens) : new RegexExtractor(d.name, d.regex!, d.substr, d.negative);
}

export class TagProducer {
  private readonly withoutPrefix: Extractor[] = [];
  private readonly byPrefix = new Map<string, Extractor[]>();
  private readonly byName = new Map<string, Extractor>();

  /**
   * @throws Error naming the tag when a regex does not compile or a name-only specifier
   * names no default extractor (Envoy rejects the bootstrap for both).
   */
  constructor(config: TagProducerConfig = {}) {
    if (config.useAllDefaultTags !== false) {
      for (const d of DEFAULT_REGEXES) this.add(fromDescriptor(d));
      for (const d of DEFAULT_TOKENS) this.add(fromDescriptor(d));
    }
    for (const t of config.cliTags ?? []) this.add(new FixedExtractor(t.name, t.value));
    for (const s of config.statsTags ?? []) {
      if ('fixedValue' in s) this.add(new FixedExtractor(s.name, s.fixedValue));
      else if ('regex' in s && s.regex) {
        try {
          this.add(new RegexExtractor(s.name, s.regex));
        } catch (err) {
          throw new Error(`stats tag "${s.name}": invalid regex "${s.regex}": ${(err as Error).message}`);
        }
      } else {
        const found = [...DEFAULT_REGEXES, ...DEFAULT_TOKENS].filter((d) => d.name === s.name);
        if (!found.length) throw new Error(`No regex specified for tag specifier and no default regex for name: '${s.name}'`);
        for (const d of found) this.add(fromDescriptor(d));
      }
    }
  }

  /** Splits a flat stat name into its tag-extracted name and tags. Not for hot paths: cache the result. */
  produceTags(name: string): TaggedName {
    const tags: Tag[] = [];
    const remove: Interval[] = [];
    const tokens = name.split('.');
    const seen = new Set<string>();
    const run = (e: Extractor): void => {
      if (e.sharedName && seen.has(e.name)) return;
      if (e.extract(name, tokens, tags, remove) && e.sharedName) seen.add(e.name);
    };
    for (const e of this.withoutPrefix) run(e);
    const dot = name.indexOf('.');
    if (dot >= 0) for (const e of this.byPrefix.get(name.slice(0, dot)) ?? []) run(e);
    return { extracted: removeIntervals(name, remove), tags };
  }

  private add(e: Extractor): void {
    const other = this.byName.get(e.name);
    if (other) {
      other.sharedName = true;
      e.sharedName = true;
    } else {
      this.byName.set(e.name, e);
    }
    if (!e.prefix) this.withoutPrefix.push(e);
    else {
      let list = this.byPrefix.get(e.prefix);
      if (!list) this.byPrefix.set(e.prefix, (list = []));
      list.push(e);
    }
  }
}

function removeIntervals(name: string, remove: Interval[]): string {
  if (remove.length === 0) return name;
  const drop = new Uint8Array(name.length);
  for (const [a, b] of remove) drop.fill(1, a, b);
  let out = '';
  for (let i = 0; i < name.length; i++) if (!drop[i]) out += name[i];
  return out;
}
