import t from 'tap';
import { compileHashPolicy, computeRequestHash, cookieValue, firstQueryValue } from '../../../src/router/hash-policy';
import { xxHash64, xxHash64Chain } from '../../../src/upstream/pickers/xxhash64';
import type { HashPolicyModel } from '../../../src/snapshot/model';
import { decodeHashPolicies } from '../../../src/xds/resources/hash-policy';
import { DecodeContext } from '../../../src/xds/resources/decode-context';

const header = (name: string, terminal = false): HashPolicyModel => ({ kind: 'header', name, regexRewrite: undefined, terminal });
const rotl1 = (h: bigint) => ((h << 1n) | (h >> 63n)) & 0xffffffffffffffffn;

t.test('no policy → nothing compiled', async (t) => {
  t.equal(compileHashPolicy([]), undefined);
  t.equal(compileHashPolicy(undefined), undefined);
});

t.test('header: xxHash64 of the value; absent → undefined', async (t) => {
  const p = compileHashPolicy([header('x-user')])!;
  t.equal(computeRequestHash(p, { 'x-user': 'alice' }, '10.0.0.1'), xxHash64('alice'));
  t.equal(computeRequestHash(p, {}, '10.0.0.1'), undefined);
  t.equal(computeRequestHash(p, { 'x-user': '' }, '10.0.0.1'), xxHash64(''), 'an empty value is still a value');
});

t.test('header with several values: sorted, then chained, so order does not matter', async (t) => {
  const p = compileHashPolicy([header('x-user')])!;
  const a = computeRequestHash(p, { 'x-user': ['b', 'a'] }, '');
  t.equal(a, xxHash64Chain(['a', 'b']));
  t.equal(computeRequestHash(p, { 'x-user': ['a', 'b'] }, ''), a);
});

t.test('header regex_rewrite applies before hashing (RE2 \\1 substitutions)', async (t) => {
  const p = compileHashPolicy([{ kind: 'header', name: ':path', regexRewrite: { regex: '^/(\\w+)/.*$', substitution: '\\1' }, terminal: false }])!;
  t.equal(computeRequestHash(p, { ':path': '/users/42' }, ''), xxHash64('users'));
});

t.test('cookie: read from Cookie headers; no cookie → undefined (Legate never sets it)', async (t) => {
  const p = compileHashPolicy([{ kind: 'cookie', name: 'session', ttlMs: 60_000, path: '/', terminal: false }])!;
  t.equal(computeRequestHash(p, { cookie: 'a=1; session=abc; b=2' }, ''), xxHash64('abc'));
  t.equal(computeRequestHash(p, { cookie: ['a=1', 'session="q"'] }, ''), xxHash64('q'), 'quotes stripped, every cookie header read');
  t.equal(computeRequestHash(p, { cookie: 'a=1' }, ''), undefined);
  t.equal(cookieValue('sessionx=1; session=2', 'session'), '2');
});

t.test('source_ip hashes the IP without the port', async (t) => {
  const p = compileHashPolicy([{ kind: 'source_ip', terminal: false }])!;
  t.equal(computeRequestHash(p, {}, '10.1.2.3'), xxHash64('10.1.2.3'));
  t.equal(computeRequestHash(p, {}, '10.1.2.3:5555'), xxHash64('10.1.2.3'));
  t.equal(computeRequestHash(p, {}, '[::1]:5555'), xxHash64('::1'));
  t.equal(computeRequestHash(p, {}, '::1'), xxHash64('::1'));
});

t.test('query_parameter: first raw value from :path', async (t) => {
  const p = compileHashPolicy([{ kind: 'query_parameter', name: 'u', terminal: false }])!;
  t.equal(computeRequestHash(p, { ':path': '/x?a=1&u=bob&u=eve' }, ''), xxHash64('bob'));
  t.equal(computeRequestHash(p, { ':path': '/x?a=1' }, ''), undefined);
  t.equal(firstQueryValue('/x?u', 'u'), '');
  t.equal(firstQueryValue('/x?u=a%20b#frag', 'u'), 'a%20b');
});

t.test('several policies combine as rotl1(hash) ^ new; terminal stops once a hash exists', async (t) => {
  const both = compileHashPolicy([header('a'), header('b')])!;
  const ha = xxHash64('1');
  const hb = xxHash64('2');
  t.equal(computeRequestHash(both, { a: '1', b: '2' }, ''), rotl1(ha) ^ hb);
  t.equal(computeRequestHash(both, { b: '2' }, ''), hb, 'a missing value contributes nothing');
  const dup = compileHashPolicy([header('a'), header('a')])!;
  t.not(computeRequestHash(dup, { a: '1' }, ''), 0n, 'identical policies do not cancel out');
  const term = compileHashPolicy([header('a', true), header('b')])!;
  t.equal(computeRequestHash(term, { a: '1', b: '2' }, ''), ha, 'terminal with a hash stops');
  t.equal(computeRequestHash(term, { b: '2' }, ''), hb, 'terminal without a hash goes on');
});

t.test('decoding: all kinds, filter_state rejected, ttl warned', async (t) => {
  const ctx = new DecodeContext();
  const out = decodeHashPolicies([
    { header: { header_name: 'X-User' }, terminal: true },
    { cookie: { name: 's', ttl: 1000 } },
    { connection_properties: { source_ip: true } },
    { query_parameter: { name: 'q' } },
    { filter_state: { key: 'k' } },
  ], 'route.hash_policy', ctx);
  t.same(out.map((p) => p.kind), ['header', 'cookie', 'source_ip', 'query_parameter']);
  t.match(out[0], { name: 'x-user', terminal: true });
  t.equal(ctx.errors.length, 1);
  t.match(ctx.errors[0]!.path, 'route.hash_policy[4].filter_state');
  t.ok(ctx.warnings.some((w) => w.path.endsWith('cookie.ttl')));
});
