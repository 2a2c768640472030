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
