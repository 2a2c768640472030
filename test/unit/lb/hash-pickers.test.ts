import t from 'tap';
import { MaglevPicker, RingHashPicker, normalizeHostWeights, normalizeLocalityWeights } from '../../../src/upstream/pickers/hash-ring';
import { xxHash64 } from '../../../src/upstream/pickers/xxhash64';
import { countBy, fakeHost, hosts } from './fake-host';

const RING = { minRingSize: 1024, maxRingSize: 8388608, useHostnameForHashing: false };
const MAGLEV = { tableSize: 65537, useHostnameForHashing: false };
const keys = (n: number) => Array.from({ length: n }, (_, i) => xxHash64(`user-${i}`));

t.test('ring size: the least-weighted host gets a whole number of entries', async (t) => {
  t.equal(new RingHashPicker(normalizeHostWeights(hosts(3)), RING).size, 1026, 'ceil(1024/3)*3');
  t.equal(new RingHashPicker(normalizeHostWeights(hosts(4)), RING).size, 1024);
  const r = new RingHashPicker(normalizeHostWeights(hosts(3)), { ...RING, maxRingSize: 6 });
  t.equal(r.size, 6, 'capped by maximum_ring_size');
  t.equal(r.minHashesPerHost, 2);
  const weighted = new RingHashPicker(normalizeHostWeights([fakeHost('a:1', { weight: 1 }), fakeHost('b:1', { weight: 3 })]), RING);
  t.equal(weighted.size, 1024, 'minimum_ring_size is already a whole number of entries for the light host');
  t.equal(weighted.minHashesPerHost, 256);
  t.equal(weighted.maxHashesPerHost, 768);
});

t.test('ring entries are xxHash64("<address>_<i>"), and a hash maps to the next entry clockwise', async (t) => {
  const [a] = hosts(1);
  const r = new RingHashPicker(normalizeHostWeights([a!]), { ...RING, minRingSize: 1, maxRingSize: 1 });
  t.equal(r.size, 1);
  t.equal(r.lookup(0n), a);
  t.equal(r.lookup(xxHash64('10.0.0.1:80_0')), a);
  t.equal(r.lookup(0xffffffffffffffffn), a, 'past the last entry wraps around');
});

t.test('ring: hash_key metadata replaces the address', async (t) => {
  const a = fakeHost('10.0.0.1:80', { hashKey: 'stable-a' });
  const b = fakeHost('10.9.9.9:80', { hashKey: 'stable-a' });
  const ra = new RingHashPicker(normalizeHostWeights([a]), RING);
  const rb = new RingHashPicker(normalizeHostWeights([b]), RING);
  t.equal(ra.size, rb.size);
  t.notOk(keys(50).some((k) => (ra.lookup(k) === a) !== (rb.lookup(k) === b)));
});

for (const [name, make] of [
  ['ring hash', (hs: ReturnType<typeof hosts>) => new RingHashPicker(normalizeHostWeights(hs), RING)],
  ['maglev', (hs: ReturnType<typeof hosts>) => new MaglevPicker(normalizeHostWeights(hs), MAGLEV)],
] as const) {
  t.test(`${name}: same key → same host, keys spread evenly`, async (t) => {
    const hs = hosts(5);
    const p = make(hs);
    const ks = keys(10000);
    const first = ks.map((k) => p.pick({ hash: k })!.key);
    t.same(ks.map((k) => p.pick({ hash: k })!.key), first, 'sticky');
    const rebuilt = make(hs);
    t.same(ks.map((k) => rebuilt.pick({ hash: k })!.key), first, 'a rebuilt table gives the same answers');
    const c = countBy(first, (x) => x);
    t.equal(Object.keys(c).length, 5);
    for (const [k, v] of Object.entries(c)) t.ok(v > 1300 && v < 2700, `${k}: ${v} of 10000`);
  });

  t.test(`${name}: removing a host moves only its keys (and few others)`, async (t) => {
    const hs = hosts(5);
    const before = make(hs);
    const after = make(hs.filter((_, i) => i !== 2));
    const ks = keys(10000);
    let moved = 0;
    let movedOthers = 0;
    for (const k of ks) {
      const b = before.pick({ hash: k })!;
      const a = after.pick({ hash: k })!;
      if (a !== b) {
        moved++;
        if (b !== hs[2]) movedOthers++;
      }
    }
    // The removed host's keys must move (≈ 1/5). The others mostly stay: with ring hash the
    // survivors get more entries each (Envoy rescales 205 → 256 per host), which moves ≈ 10%;
    // Maglev's table refill moves a few percent. A modulo rehash would move ≈ 80%.
    t.ok(moved < 3500, `${moved} of 10000 keys moved`);
    t.ok(movedOthers < 1500, `${movedOthers} keys of surviving hosts moved`);
  });

  t.test(`${name}: no hash → random host`, async (t) => {
    const p = make(hosts(4));
    t.equal(new Set(Array.from({ length: 400 }, () => p.pick()!.key)).size, 4);
  });
}

t.test('maglev: entries per host follow weights (1:2 → 21846 / 43691 of 65537)', async (t) => {
  const m = new MaglevPicker(normalizeHostWeights([fakeHost('a:1', { weight: 1 }), fakeHost('b:1', { weight: 2 })]), MAGLEV);
  t.same(m.entriesPerHost, [21846, 43691]);
  const eq = new MaglevPicker(normalizeHostWeights(hosts(3)), { ...MAGLEV, tableSize: 7 });
  t.same(eq.entriesPerHost.slice().sort(), [2, 2, 3], 'a small table fills every slot');
});

t.test('maglev offset/skip are xxHash64(key) % M and xxHash64(key, 1) % (M-1) + 1', async (t) => {
  // One host fills the whole table; the first slot it takes is its offset.
  const [a] = hosts(1);
  const m = new MaglevPicker(normalizeHostWeights([a!]), MAGLEV);
  t.equal(m.entriesPerHost[0], 65537);
  t.equal(m.lookup(xxHash64('10.0.0.1:80') % 65537n), a);
});

t.test('locality weights normalize across localities (weight 0 drops one)', async (t) => {
  const [a, b, c] = hosts(3);
  const w = normalizeLocalityWeights([{ weight: 1, hosts: [a!] }, { weight: 3, hosts: [b!, c!] }, { weight: 0, hosts: [fakeHost('z:1')] }]);
  t.same(w.map((x) => [x.host.key, x.weight]), [[a!.key, 0.25], [b!.key, 0.375], [c!.key, 0.375]]);
  t.same(normalizeLocalityWeights([{ weight: 0, hosts: [a!] }]), []);
});
