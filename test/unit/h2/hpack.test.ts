import t from 'tap';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS, huffmanDecode, huffmanEncode, huffmanEncodedLength } from '../../../src/h2/hpack/huffman';
import { HpackDecoder, HpackError, type DecodedBlock } from '../../../src/h2/hpack/hpack-decoder';
import { HpackEncoder } from '../../../src/h2/hpack/hpack-encoder';
import { encodeHeaders } from '../../../src/h2/header-block';

/** The fields of a decoded block (its array is reused and may hold older entries past `count`). */
const fieldsOf = (r: DecodedBlock): string[] => r.fields.slice(0, r.count);

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('the canonical code derived from the lengths is RFC 7541 Appendix B', async (t) => {
  // Codes as printed in the RFC, for symbols spread over every length class.
  const printed: Array<[number, number, number]> = [
    [0, 0x1ff8, 13], [9, 0xffffea, 24], [10, 0x3ffffffc, 30], [32, 0x14, 6], [48, 0x0, 5], [58, 0x5c, 7],
    [88, 0xfc, 8], [92, 0x7fff0, 19], [127, 0xffffffc, 28], [128, 0xfffe6, 20], [195, 0x7fff1, 19],
    [203, 0x7ffffde, 27], [220, 0xffffffd, 28], [249, 0xffffffe, 28], [255, 0x3ffffee, 26], [256, 0x3fffffff, 30],
  ];
  for (const [sym, code, len] of printed) {
    t.equal(HUFFMAN_LENGTHS[sym], len, `length of ${sym}`);
    t.equal(HUFFMAN_CODES[sym], code, `code of ${sym}`);
  }
  // A complete prefix code: the Kraft sum is exactly 1.
  let kraft = 0;
  for (let s = 0; s <= 256; s++) kraft += 2 ** -HUFFMAN_LENGTHS[s]!;
  t.equal(kraft, 1, 'Kraft sum');
});

t.test('Huffman strings of RFC 7541 Appendix C.4', async (t) => {
  const cases: Array<[string, string]> = [
    ['www.example.com', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'],
    ['no-cache', 'a8eb 1064 9cbf'],
    ['custom-key', '25a8 49e9 5ba9 7d7f'],
    ['custom-value', '25a8 49e9 5bb8 e8b4 bf'],
  ];
  for (const [text, coded] of cases) {
    const out = Buffer.alloc(64);
    const n = huffmanEncode(text, out, 0);
    t.equal(out.subarray(0, n).toString('hex'), hex(coded).toString('hex'), `encode ${text}`);
    t.equal(huffmanEncodedLength(text), n, `length of ${text}`);
    const scratch = Buffer.alloc(64);
    const m = huffmanDecode(hex(coded), 0, hex(coded).length, scratch);
    t.equal(scratch.toString('latin1', 0, m), text, `decode ${text}`);
  }
  // Every octet value round-trips, long codes included.
  const all = Buffer.from([...Array(256).keys()]).toString('latin1');
  const out = Buffer.alloc(1024);
  const n = huffmanEncode(all, out, 0);
  const scratch = Buffer.alloc(1024);
  t.equal(scratch.toString('latin1', 0, huffmanDecode(out, 0, n, scratch)), all, 'all 256 octets');
});

t.test('requests of RFC 7541 Appendix C.4 decode with the dynamic table carried over', async (t) => {
  const d = new HpackDecoder();
  const first = d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'), 0, 17, 65536);
  t.same(fieldsOf(first), [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com']);
  const second = d.decode(hex('8286 84be 5886 a8eb 1064 9cbf'), 0, 12, 65536);
  t.same(fieldsOf(second), [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com', 'cache-control', 'no-cache']);
  const thirdBytes = hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf');
  const third = d.decode(thirdBytes, 0, thirdBytes.length, 65536);
  t.same(fieldsOf(third), [':method', 'GET', ':scheme', 'https', ':path', '/index.html', ':authority', 'www.example.com', 'custom-key', 'custom-value']);
});

t.test('encoder and decoder stay in step through evictions and table size changes', async (t) => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  let seed = 7;
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  let encodedBytes = 0;
  let rawBytes = 0;
  for (let i = 0; i < 500; i++) {
    if (i === 200) enc.setMaxTableSize(256); // the peer shrank its table: a size update goes first
    const fields: string[] = [':method', 'POST', ':path', `/svc.S${rand(20)}/M`, 'content-type', 'application/grpc', 'te', 'trailers'];
    for (let k = 0; k < 3; k++) fields.push(`x-h${rand(50)}`, 'v'.repeat(rand(300)) + String.fromCharCode(rand(256)));
    fields.push('authorization', `Bearer ${rand(1000)}`, 'content-length', String(rand(100000)));
    enc.begin();
    for (let k = 0; k < fields.length; k += 2) enc.field(fields[k]!, fields[k + 1]!);
    const block = Buffer.from(enc.end());
    encodedBytes += block.length;
    rawBytes += fields.reduce((a, f) => a + f.length, 0);
    const got = dec.decode(block, 0, block.length, 1 << 20);
    if (JSON.stringify(fieldsOf(got)) !== JSON.stringify(fields)) {
      t.fail(`block ${i} decoded differently`);
      return;
    }
  }
  t.pass('500 blocks decoded to exactly what was encoded');
  t.ok(encodedBytes < rawBytes, `compressed ${rawBytes} → ${encodedBytes} bytes`);
  // Repeating a gRPC call's headers: after the first block each field is one indexed byte.
  enc.begin();
  for (const [n, v] of [[':method', 'POST'], [':path', '/a.B/C'], ['content-type', 'application/grpc'], ['te', 'trailers']] as const) enc.field(n, v);
  dec.decode(Buffer.from(enc.end()), 0, enc.end().length, 65536);
  enc.begin();
  for (const [n, v] of [[':method', 'POST'], [':path', '/a.B/C'], ['content-type', 'application/grpc'], ['te', 'trailers']] as const) enc.field(n, v);
  t.equal(enc.end().length, 4, 'the repeated block is 4 bytes');
});

t.test('malformed blocks are COMPRESSION_ERRORs naming the problem', async (t) => {
  const bad: Array<[string, string, RegExp]> = [
    ['80', 'index 0', /index 0/],
    ['be', 'index past the table', /past the end/],
    ['3fe21f', 'size update above the setting', /exceeds SETTINGS_HEADER_TABLE_SIZE/],
    ['82 20', 'size update after a field', /after a header field/],
    ['40 85 ffffffffff 00', 'EOS inside a Huffman string', /EOS|invalid Huffman/],
    ['40 81 00 00', 'padding of zeros', /padding|truncated/],
    ['40 0a 6162', 'string past the end', /past the end/],
    ['ff ffffffffff7f', 'integer too large', /too large|truncated/],
  ];
  for (const [bytes, what, re] of bad) {
    const d = new HpackDecoder();
    const b = hex(bytes);
    t.throws(() => d.decode(b, 0, b.length, 65536), re, what);
    try { d.decode(b, 0, b.length, 65536); } catch (err) { t.ok(err instanceof HpackError, `${what} is an HpackError`); }
  }
});

t.test('a block past the header list limit is decoded to the end and flagged', async (t) => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  enc.begin();
  enc.field('x-big', 'a'.repeat(1000));
  enc.field('x-after', 'kept-in-table');
  const block = Buffer.from(enc.end());
  const r = dec.decode(block, 0, block.length, 500);
  t.ok(r.overLimit, 'flagged');
  t.ok(r.listSize > 500, `list size ${r.listSize}`);
  // The table still learned 'x-after' (the encoder indexed it): the next block can refer to it.
  enc.begin();
  enc.field('x-after', 'kept-in-table');
  const next = Buffer.from(enc.end());
  t.equal(next.length, 1, 'indexed reference');
  t.same(fieldsOf(dec.decode(next, 0, 1, 500)), ['x-after', 'kept-in-table']);
});

t.test('a short block decoded after a long one yields only its own fields', (t) => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  const long = [':status', '200', 'content-type', 'application/grpc', 'x-a', '1', 'x-b', '2', 'x-c', '3'];
  enc.begin();
  for (let k = 0; k < long.length; k += 2) enc.field(long[k]!, long[k + 1]!);
  let block = Buffer.from(enc.end());
  t.same(fieldsOf(dec.decode(block, 0, block.length, 65536)), long);
  enc.begin();
  enc.field('grpc-status', '0');
  block = Buffer.from(enc.end());
  const short = dec.decode(block, 0, block.length, 65536);
  t.equal(short.count, 2, 'two entries');
  t.same(fieldsOf(short), ['grpc-status', '0']);
  enc.begin();
  block = Buffer.from(enc.end());
  t.equal(dec.decode(block, 0, block.length, 65536).count, 0, 'an empty block has no fields');
  t.end();
});

t.test('encodeHeaders: names in any case go out lower-case, pseudo-headers first; the block is buffer[0, length)', (t) => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  for (let round = 0; round < 2; round++) {
    const length = encodeHeaders(enc, { 'X-Custom-Name': 'v', ':status': '200', 'Content-Type': 'application/grpc', 'set-cookie': ['a=1', 'b=2'], skipped: undefined });
    t.equal(length, enc.length);
    const block = Buffer.from(enc.buffer.subarray(0, length));
    t.same(fieldsOf(dec.decode(block, 0, block.length, 65536)), [
      ':status', '200', 'x-custom-name', 'v', 'content-type', 'application/grpc', 'set-cookie', 'a=1', 'set-cookie', 'b=2',
    ], `round ${round + 1}`);
  }
  t.end();
});

t.test('a header whose value changes per request is named by index after its first use, its values sent plain', (t) => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  const lengths: number[] = [];
  let plain = 0;
  for (let i = 0; i < 50; i++) {
    const id = `${i.toString(16).padStart(8, '0')}-1234-4abc-8def-0123456789ab`;
    const length = encodeHeaders(enc, { ':status': '200', 'x-request-id': id, 'x-envoy-upstream-service-time': String(i) });
    const block = Buffer.from(enc.buffer.subarray(0, length));
    lengths.push(length);
    if (block.includes(Buffer.from(id, 'latin1'))) plain++;
    const got = fieldsOf(dec.decode(block, 0, block.length, 65536));
    if (got[3] !== id || got[5] !== String(i)) t.fail(`block ${i} decoded to ${JSON.stringify(got)}`);
  }
  t.ok(lengths[1]! <= lengths[0]! - 25, `names spelled once: first block ${lengths[0]} bytes, then ${lengths[1]}`);
  t.equal(new Set(lengths.slice(1, 10)).size, 1, 'later blocks have the same size (values change, nothing else)');
  t.equal(plain, 50, 'every request id is in the block as it is (not Huffman-coded)');
  t.end();
});

t.test('names in mixed case share one record: round trips stay exact through evictions of a small table', (t) => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  enc.setMaxTableSize(300);
  let seed = 5;
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const spell = (name: string): string => [...name].map((c) => (rand(2) === 0 ? c.toUpperCase() : c)).join('');
  let bad = 0;
  for (let i = 0; i < 400; i++) {
    const fields: string[] = [];
    for (let k = 0; k < 4; k++) fields.push(`x-name-${rand(12)}`, `value-${rand(6)}`);
    fields.push('x-request-id', `id-${i}`);
    const headers: Record<string, string> = {};
    for (let k = 0; k < fields.length; k += 2) headers[spell(fields[k]!)] = fields[k + 1]!;
    const length = encodeHeaders(enc, headers);
    const block = Buffer.from(enc.buffer.subarray(0, length));
    const got = fieldsOf(dec.decode(block, 0, block.length, 1 << 20));
    const want = Object.entries(headers).flatMap(([k, v]) => [k.toLowerCase(), v]);
    if (JSON.stringify(got) !== JSON.stringify(want)) bad++;
  }
  t.equal(bad, 0, '400 blocks with names in random case decode exactly through a 300-byte table');
  t.end();
});
