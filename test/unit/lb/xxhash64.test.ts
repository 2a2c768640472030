import t from 'tap';
import { xxHash64, xxHash64Chain } from '../../../src/upstream/pickers/xxhash64';

// Reference values of XXH64 (xxhash's spec and its reference implementation, seeds 0 and 1;
// cross-checked with xxhash-wasm): every input length path (0, <4, 4..7, 8..31, >=32 bytes).
const VECTORS: Array<[string, bigint, bigint]> = [
  ['', 0n, 0xef46db3751d8e999n],
  ['', 1n, 0xd5afba1336a3be4bn],
  ['a', 0n, 0xd24ec4f1a98c6e5bn],
  ['a', 1n, 0xdec2bc81c3cd46c6n],
  ['abc', 0n, 0x44bc2cf5ad770999n],
  ['abc', 1n, 0xbea9ca8199328908n],
  ['xxhash', 0n, 0x32dd38952c4bc720n],
  ['xxhash', 1n, 0x1fca3d535e1ef348n],
  ['Nobody inspects the spammish repetition', 0n, 0xfbcea83c8a378bf1n],
  ['Nobody inspects the spammish repetition', 1n, 0x43f425448d954db6n],
  ['The quick brown fox jumps over the lazy dog', 0n, 0x0b242d361fda71bcn],
  ['0123456789abcdef0123456789abcdef0123456789', 0n, 0xa76190c3acf08a1cn],
  ['0123456789abcdef0123456789abcdef0123456789', 0x9e3779b185ebca87n, 0x98037c7c9b6ac100n],
  ['127.0.0.1:8080_0', 0n, 0xf673a43b9624fa24n],
];

t.test('xxHash64 matches the reference vectors', async (t) => {
  for (const [input, seed, want] of VECTORS) {
    t.equal(xxHash64(input, seed).toString(16), want.toString(16), `XXH64(${JSON.stringify(input)}, ${seed})`);
  }
});

t.test('bytes and strings hash alike (UTF-8)', async (t) => {
  t.equal(xxHash64(Buffer.from('héllo', 'utf8')), xxHash64('héllo'));
});

t.test('a list of values chains the seed (HashUtil::xxHash64 over a span)', async (t) => {
  t.equal(xxHash64Chain(['a']), xxHash64('a'));
  t.equal(xxHash64Chain(['a', 'b']), xxHash64('b', xxHash64('a')));
  t.equal(xxHash64Chain([]), xxHash64(''));
});

// === Cross-check against a straightforward BigInt implementation of the spec ===
const R_MASK = 0xffffffffffffffffn;
const R_P1 = 0x9e3779b185ebca87n;
const R_P2 = 0xc2b2ae3d27d4eb4fn;
const R_P3 = 0x165667b19e3779f9n;
const R_P4 = 0x85ebca77c2b2ae63n;
const R_P5 = 0x27d4eb2f165667c5n;

const r_rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & R_MASK;

function r_round(acc: bigint, lane: bigint): bigint {
  acc = (acc + lane * R_P2) & R_MASK;
  acc = r_rotl(acc, 31n);
  return (acc * R_P1) & R_MASK;
}

function r_mergeRound(acc: bigint, lane: bigint): bigint {
  acc ^= r_round(0n, lane);
  return (acc * R_P1 + R_P4) & R_MASK;
}

function r_u64(b: Uint8Array, i: number): bigint {
  const lo = (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
  const hi = (b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24)) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function r_u32(b: Uint8Array, i: number): bigint {
  return BigInt((b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0);
}

/** XXH64 of `input` (a string is hashed as its UTF-8 bytes) with `seed` (default 0). */
function refXxHash64(input: string | Uint8Array, seed: bigint = 0n): bigint {
  const b = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const len = b.length;
  seed &= R_MASK;
  let i = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (seed + R_P1 + R_P2) & R_MASK;
    let v2 = (seed + R_P2) & R_MASK;
    let v3 = seed;
    let v4 = (seed - R_P1) & R_MASK;
    for (const limit = len - 32; i <= limit; i += 32) {
      v1 = r_round(v1, r_u64(b, i));
      v2 = r_round(v2, r_u64(b, i + 8));
      v3 = r_round(v3, r_u64(b, i + 16));
      v4 = r_round(v4, r_u64(b, i + 24));
    }
    h = (r_rotl(v1, 1n) + r_rotl(v2, 7n) + r_rotl(v3, 12n) + r_rotl(v4, 18n)) & R_MASK;
    h = r_mergeRound(h, v1);
    h = r_mergeRound(h, v2);
    h = r_mergeRound(h, v3);
    h = r_mergeRound(h, v4);
  } else {
    h = (seed + R_P5) & R_MASK;
  }
  h = (h + BigInt(len)) & R_MASK;
  for (; i + 8 <= len; i += 8) {
    h ^= r_round(0n, r_u64(b, i));
    h = (r_rotl(h, 27n) * R_P1 + R_P4) & R_MASK;
  }
  if (i + 4 <= len) {
    h ^= (r_u32(b, i) * R_P1) & R_MASK;
    h = (r_rotl(h, 23n) * R_P2 + R_P3) & R_MASK;
    i += 4;
  }
  for (; i < len; i++) {
    h ^= (BigInt(b[i]!) * R_P5) & R_MASK;
    h = (r_rotl(h, 11n) * R_P1) & R_MASK;
  }
  h ^= h >> 33n;
  h = (h * R_P2) & R_MASK;
  h ^= h >> 29n;
  h = (h * R_P3) & R_MASK;
  h ^= h >> 32n;
  return h;

}

t.test('agrees with a BigInt reference on random inputs of every length and seed', async (t) => {
  let seedState = 12345;
  const rnd = (): number => (seedState = (Math.imul(seedState, 1103515245) + 12345) >>> 0);
  let mismatches = 0;
  for (let n = 0; n < 2000; n++) {
    const len = n % 100;
    const bytes = new Uint8Array(len);
    for (let i = 0; i < len; i++) bytes[i] = rnd() & 0xff;
    const seed = n % 3 === 0 ? 0n : (BigInt(rnd()) << 32n) | BigInt(rnd());
    if (xxHash64(bytes, seed) !== refXxHash64(bytes, seed)) mismatches++;
  }
  t.equal(mismatches, 0, '2,000 random inputs (0-99 bytes, random seeds)');
  t.equal(xxHash64('x'.repeat(2000)), refXxHash64(Buffer.from('x'.repeat(2000))), 'a string longer than the scratch buffer');
});
