/**
 * HPACK's static Huffman code (RFC 7541 §5.2, Appendix B).
 *
 * The code is canonical: codes of one length are consecutive and ordered by symbol, and
 * each length continues where the shorter one stopped. So the 257 code lengths are all the
 * data needed; the codes are derived from them at load time (and a test checks the result
 * against the RFC's printed codes and its Appendix C examples).
 */

/** Code length in bits of each symbol 0..255 and EOS (256), rows of 16 symbols. */
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;
const MAX_LENGTH = 30;

/** Code of each symbol, right-aligned (the last bit is bit 0). */
export const HUFFMAN_CODES = new Uint32Array(257);
/** Length of each symbol's code. */
export const HUFFMAN_LENGTHS = Uint8Array.from(CODE_LENGTHS);

/** Canonical decoding tables: symbols sorted by (length, symbol); count and first code per length. */
const sortedSymbols = new Uint16Array(257);
const countByLength = new Uint16Array(MAX_LENGTH + 1);
/**
 * Fast path for codes of up to 8 bits (every symbol that is common in headers): indexed by the
 * next 8 input bits, the symbol in the low 9 bits and its length above; 0 when the code is longer.
 */
const FAST = new Uint16Array(256);

(function buildTables(): void {
  const order = [...Array(257).keys()].sort((a, b) => CODE_LENGTHS[a]! - CODE_LENGTHS[b]! || a - b);
  let code = 0;
  let prevLen = CODE_LENGTHS[order[0]!]!;
  order.forEach((sym, i) => {
    const len = CODE_LENGTHS[sym]!;
    code <<= len - prevLen;
    prevLen = len;
    HUFFMAN_CODES[sym] = code;
    sortedSymbols[i] = sym;
    countByLength[len]! += 1;
    if (len <= 8) {
      const shift = 8 - len;
      for (let fill = 0; fill < 1 << shift; fill++) FAST[(code << shift) | fill] = (len << 9) | sym;
    }
    code += 1;
  });
})();

/** Number of bytes `value` (a latin1 string: one char per octet) takes Huffman-coded. */
export function huffmanEncodedLength(value: string): number {
  let bits = 0;
  for (let i = 0; i < value.length; i++) bits += HUFFMAN_LENGTHS[value.charCodeAt(i) & 0xff]!;
  return (bits + 7) >>> 3;
}

/** Writes `value` Huffman-coded into `out` at `pos`; returns the position after it. */
export function huffmanEncode(value: string, out: Buffer, pos: number): number {
  let acc = 0; // pending bits, at most 7 + 30 would overflow 32 bits, so flush as we go
  let nbits = 0;
  for (let i = 0; i < value.length; i++) {
    const sym = value.charCodeAt(i) & 0xff;
    let len = HUFFMAN_LENGTHS[sym]!;
    const code = HUFFMAN_CODES[sym]!;
    // Feed the code in pieces of at most 16 bits so `acc` never exceeds 24 bits.
    while (len > 0) {
      const take = len > 16 ? len - 16 : len;
      const piece = (code >>> (len - take)) & ((1 << take) - 1);
      acc = (acc << take) | piece;
      nbits += take;
      len -= take;
      while (nbits >= 8) {
        nbits -= 8;
        out[pos++] = (acc >>> nbits) & 0xff;
      }
      acc &= (1 << nbits) - 1;
    }
  }
  // Pad with the most significant bits of EOS (all ones).
  if (nbits > 0) out[pos++] = ((acc << (8 - nbits)) | (0xff >>> nbits)) & 0xff;
  return pos;
}

/** Thrown for input that is not a valid Huffman string (a COMPRESSION_ERROR). */
export class HuffmanError extends Error {}

/**
 * Decodes `len` Huffman-coded bytes of `input` from `pos` into `scratch` (octets); returns the
 * number of octets written. Rejects EOS in the string and padding longer than 7 bits or not
 * made of ones (RFC 7541 §5.2).
 */
export function huffmanDecode(input: Uint8Array, pos: number, len: number, scratch: Buffer): number {
  const end = pos + len;
  let out = 0;
  let acc = 0;
  let nbits = 0;
  for (;;) {
    while (nbits < 8 && pos < end) {
      acc = ((acc << 8) | input[pos++]!) & 0xffff;
      nbits += 8;
    }
    if (nbits === 0) return out;
    const peek = nbits >= 8
      ? (acc >>> (nbits - 8)) & 0xff
      : ((acc << (8 - nbits)) | (0xff >>> nbits)) & 0xff; // past the end: pretend the padding goes on
    const hit = FAST[peek]!;
    const hitLen = hit >>> 9;
    if (hit !== 0 && hitLen <= nbits) {
      if (out >= scratch.length) throw new HuffmanError('decoded string longer than the header size limit');
      scratch[out++] = hit & 0x1ff;
      nbits -= hitLen;
      continue;
    }
    if (pos >= end && nbits < 8) {
      // Only padding may remain: fewer than 8 bits, all ones.
      if ((acc & ((1 << nbits) - 1)) !== (1 << nbits) - 1) throw new HuffmanError('invalid Huffman padding');
      return out;
    }
    // A code longer than 8 bits: canonical decoding bit by bit.
    let code = 0;
    let first = 0;
    let index = 0;
    for (let l = 1; ; l++) {
      if (l > MAX_LENGTH) throw new HuffmanError('invalid Huffman code');
      if (nbits === 0) {
        if (pos >= end) throw new HuffmanError('truncated Huffman code');
        acc = input[pos++]!;
        nbits = 8;
      }
      nbits -= 1;
      code = (code << 1) | ((acc >>> nbits) & 1);
      const count = countByLength[l]!;
      if ((code - first) >>> 0 < count) {
        const sym = sortedSymbols[index + code - first]!;
        if (sym === EOS) throw new HuffmanError('EOS symbol inside a Huffman string');
        if (out >= scratch.length) throw new HuffmanError('decoded string longer than the header size limit');
        scratch[out++] = sym;
        break;
      }
      index += count;
      first = (first + count) << 1;
    }
    acc &= (1 << nbits) - 1;
  }
}
