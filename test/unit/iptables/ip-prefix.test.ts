import t from 'tap';
import { canonicalAddress, parsePrefix, separateV4V6, splitList } from '../../../src/iptables/ip-prefix';

t.test('prefixes print as Go prints them', async (t) => {
  const text = (s: string) => {
    const p = parsePrefix(s);
    return typeof p === 'string' ? p : p.text;
  };
  t.equal(text('10.0.0.0/8'), '10.0.0.0/8');
  t.equal(text('10.1.2.3/8'), '10.1.2.3/8', 'not masked');
  t.equal(text('2001:DB8:0:0::/32'), '2001:db8::/32');
  t.equal(text('2001:db8:0:0:1:0:0:1/128'), '2001:db8::1:0:0:1/128', 'the first longest zero run');
  t.equal(text('2001:db8:0:1:1:1:1:1/64'), '2001:db8:0:1:1:1:1:1/64', 'a single zero group stays');
  t.equal(text('::/0'), '::/0');
  t.equal(text('::ffff:10.0.0.1/128'), '::ffff:10.0.0.1/128');
  t.equal(text('::10.0.0.1/128'), '::a00:1/128');
  t.equal(text('fe80::1:2/64'), 'fe80::1:2/64');
});

t.test('strict parsing', async (t) => {
  for (const bad of ['10.0.0.0', '10.0.0/8', '010.0.0.0/8', '256.0.0.0/8', '10.0.0.0/33', '10.0.0.0/08', '::/129',
    '1:2:3:4:5:6:7:8:9/64', '1::2::3/64', 'fe80::1%eth0/64', '*/0', 'x/1', '10.0.0.0/']) {
    t.type(parsePrefix(bad), 'string', bad);
  }
});

t.test('loopback detection (Go IsLoopback)', async (t) => {
  const lo = (s: string) => (parsePrefix(s) as { loopback: boolean }).loopback;
  t.equal(lo('127.1.2.3/32'), true);
  t.equal(lo('::1/128'), true);
  t.equal(lo('::ffff:127.0.0.1/128'), true);
  t.equal(lo('10.0.0.1/32'), false);
  t.equal(lo('::2/128'), false);
});

t.test('separateV4V6', async (t) => {
  const r = separateV4V6('10.0.0.0/8,2001:db8::/32,,127.0.0.1/32');
  if (typeof r === 'string') throw new Error(r);
  t.same(r.v4.cidrs.map((c) => c.text), ['10.0.0.0/8', '127.0.0.1/32']);
  t.equal(r.v4.hasLoopback, true);
  t.same(r.v6.cidrs.map((c) => c.text), ['2001:db8::/32']);
  t.equal(r.v6.hasLoopback, false);
  const all = separateV4V6('*');
  t.same(all, { v4: { wildcard: true, cidrs: [], hasLoopback: false }, v6: { wildcard: true, cidrs: [], hasLoopback: false } });
  t.type(separateV4V6('*,10.0.0.0/8'), 'string');
});

t.test('addresses and lists', async (t) => {
  t.same(canonicalAddress('::127.0.0.53'), { family: 6, text: '::7f00:35' });
  t.same(canonicalAddress('10.96.0.10'), { family: 4, text: '10.96.0.10' });
  t.equal(canonicalAddress('nope'), undefined);
  t.same(splitList(''), []);
  t.same(splitList('a,,b,'), ['a', 'b']);
});
