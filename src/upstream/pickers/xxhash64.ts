/**
 * XXH64 (xxHash, 64-bit variant) exactly as specified in xxhash's doc/xxhash_spec.md, which is
 * what Envoy's `HashUtil::xxHash64(input, seed)` calls. Hash policies, the ring-hash ring and the
 * Maglev permutations all use it, so the same key lands on the same host as in Envoy.
 *
 * The 64-bit arithmetic runs on pairs of unsigned 32-bit halves held in plain numbers (products
 * split into 16-bit pieces so every intermediate stays exact below 2^53); only the seed and the
 * result are BigInt. On BigInt throughout, one hash of a short header value cost ~6 µs, paid on
 * every request of a hash-policy route; see bench/micro/route-and-pick.ts.
 */

// The primes as [high, low] 32-bit halves.
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;
const TWO32 = 0x1_0000_0000;

/** Result registers of the helpers below (no allocation per operation). */
let rh = 0;
let rl = 0;

/** (ah:al × bh:bl) mod 2^64 → rh:rl. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const mid = a0 * b1 + a1 * b0; // < 2^33
  const lo = a0 * b0 + (mid % 0x10000) * 0x10000; // < 2^33
  const hi = a1 * b1 + Math.floor(mid / 0x10000) + Math.floor(lo / TWO32);
  rl = lo >>> 0;
  rh = (hi + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** (ah:al + bh:bl) mod 2^64 → rh:rl. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  rl = lo >>> 0;
  rh = (ah + bh + (lo >= TWO32 ? 1 : 0)) >>> 0;
}

/** rotl(h:l, r) for 0 < r < 64 → rh:rl. */
function rotl(h: number, l: number, r: number): void {
  if (r >= 32) {
    const t = h;
    h = l;
    l = t;
    r -= 32;
    if (r === 0) {
      rh = h;
      rl = l;
      return;
    }
  }
  rh = ((h << r) | (l >>> (32 - r))) >>> 0;
  rl = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** round(acc, lane) = rotl(acc + lane × P2, 31) × P1 → rh:rl. */
function round(ah: number, al: number, lh: number, ll: number): void {
  mul(lh, ll, P2H, P2L);
  add(ah, al, rh, rl);
  rotl(rh, rl, 31);
  mul(rh, rl, P1H, P1L);
}

/** Reads a little-endian 32-bit word. */
function u32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** Scratch space for short ASCII strings, so hashing one allocates nothing. */
const scratch = new Uint8Array(1024);

/** Copies an ASCII string into `out` (header values, addresses: the usual keys); -1 if it is not ASCII or too long. */
function asciiInto(s: string, out: Uint8Array): number {
  const n = s.length;
  if (n > out.length) return -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return -1;
    out[i] = c;
  }
  return n;
}

/** XXH64 of `input` (a string is hashed as its UTF-8 bytes) with `seed` (default 0). */
export function xxHash64(input: string | Uint8Array, seed: bigint = 0n): bigint {
  let b: Uint8Array;
  let len: number;
  if (typeof input === 'string') {
    len = asciiInto(input, scratch);
    if (len >= 0) {
      b = scratch;
    } else {
      b = Buffer.from(input, 'utf8');
      len = b.length;
    }
  } else {
    b = input;
    len = input.length;
  }
  let sh = 0;
  let sl = 0;
  if (seed !== 0n) {
    const s = BigInt.asUintN(64, seed);
    sh = Number(s >> 32n);
    sl = Number(s & 0xffffffffn);
  }
  let i = 0;
  let hh: number;
  let hl: number;
  if (len >= 32) {
    add(sh, sl, P1H, P1L);
    add(rh, rl, P2H, P2L);
    let v1h = rh, v1l = rl;
    add(sh, sl, P2H, P2L);
    let v2h = rh, v2l = rl;
    let v3h = sh, v3l = sl;
    // seed - P1 = seed + (2^64 - P1)
    add(sh, sl, (~P1H >>> 0) + ((~P1L >>> 0) === 0xffffffff ? 1 : 0), ((~P1L >>> 0) + 1) >>> 0);
    let v4h = rh, v4l = rl;
    for (const limit = len - 32; i <= limit; i += 32) {
      round(v1h, v1l, u32(b, i + 4), u32(b, i));
      v1h = rh; v1l = rl;
      round(v2h, v2l, u32(b, i + 12), u32(b, i + 8));
      v2h = rh; v2l = rl;
      round(v3h, v3l, u32(b, i + 20), u32(b, i + 16));
      v3h = rh; v3l = rl;
      round(v4h, v4l, u32(b, i + 28), u32(b, i + 24));
      v4h = rh; v4l = rl;
    }
    rotl(v1h, v1l, 1);
    let ah = rh, al = rl;
    rotl(v2h, v2l, 7);
    add(ah, al, rh, rl);
    ah = rh; al = rl;
    rotl(v3h, v3l, 12);
    add(ah, al, rh, rl);
    ah = rh; al = rl;
    rotl(v4h, v4l, 18);
    add(ah, al, rh, rl);
    hh = rh; hl = rl;
    for (const [vh, vl] of [[v1h, v1l], [v2h, v2l], [v3h, v3l], [v4h, v4l]] as const) {
      // mergeRound: acc ^= round(0, v); acc = acc × P1 + P4
      round(0, 0, vh, vl);
      hh = (hh ^ rh) >>> 0;
      hl = (hl ^ rl) >>> 0;
      mul(hh, hl, P1H, P1L);
      add(rh, rl, P4H, P4L);
      hh = rh; hl = rl;
    }
  } else {
    add(sh, sl, P5H, P5L);
    hh = rh; hl = rl;
  }
  add(hh, hl, Math.floor(len / TWO32), len >>> 0);
  hh = rh; hl = rl;
  for (; i + 8 <= len; i += 8) {
    round(0, 0, u32(b, i + 4), u32(b, i));
    hh = (hh ^ rh) >>> 0;
    hl = (hl ^ rl) >>> 0;
    rotl(hh, hl, 27);
    mul(rh, rl, P1H, P1L);
    add(rh, rl, P4H, P4L);
    hh = rh; hl = rl;
  }
  if (i + 4 <= len) {
    mul(0, u32(b, i), P1H, P1L);
    hh = (hh ^ rh) >>> 0;
    hl = (hl ^ rl) >>> 0;
    rotl(hh, hl, 23);
    mul(rh, rl, P2H, P2L);
    add(rh, rl, P3H, P3L);
    hh = rh; hl = rl;
    i += 4;
  }
  for (; i < len; i++) {
    mul(0, b[i]!, P5H, P5L);
    hh = (hh ^ rh) >>> 0;
    hl = (hl ^ rl) >>> 0;
    rotl(hh, hl, 11);
    mul(rh, rl, P1H, P1L);
    hh = rh; hl = rl;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  hl = (hl ^ (hh >>> 1)) >>> 0;
  mul(hh, hl, P2H, P2L);
  hh = rh; hl = rl;
  hl = (hl ^ ((hh << 3) | (hl >>> 29))) >>> 0;
  hh = (hh ^ (hh >>> 29)) >>> 0;
  mul(hh, hl, P3H, P3L);
  hh = rh; hl = rl;
  hl = (hl ^ hh) >>> 0;
  return (BigInt(hh) << 32n) | BigInt(hl);
}

/**
 * Envoy's `HashUtil::xxHash64(absl::Span<absl::string_view>)`: each value is hashed with the
 * previous result as its seed (a header with several values).
 */
export function xxHash64Chain(values: readonly string[], seed: bigint = 0n): bigint {
  if (values.length === 0) return xxHash64('', seed);
  for (const v of values) seed = xxHash64(v, seed);
  return seed;
}
