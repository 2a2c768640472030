/**
 * HPACK header block decoder (RFC 7541 §6). Strings come out as latin1 (one char per
 * octet), which round-trips any header bytes exactly, as node:http2 does.
 *
 * Every block is decoded to the end even past the header list limit, because the dynamic
 * table must stay in step with the peer's encoder; only the fields are dropped.
 */
import { DynamicTable, ENTRY_OVERHEAD } from './dynamic-table';
import { huffmanDecode, HuffmanError } from './huffman';
import { STATIC_COUNT, STATIC_TABLE } from './static-table';

/** A decoding failure: a connection error of type COMPRESSION_ERROR (RFC 9113 §4.3). */
export class HpackError extends Error {}

/** What one block decoded to. */
export interface DecodedBlock {
  /**
   * name0, value0, name1, value1, ... in wire order: the first `count` entries. The array is
   * reused from block to block and never shortened (emptying an array frees its storage, and
   * refilling it allocates again on every block).
   */
  readonly fields: string[];
  count: number;
  /** Header list size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (32 + name + value per field). */
  listSize: number;
  /** True when `listSize` passed the limit: `fields` is incomplete and the block must be refused. */
  overLimit: boolean;
}

export class HpackDecoder {
  private readonly table: DynamicTable;
  private scratch = Buffer.allocUnsafe(4096);
  /** Read position inside the block being decoded. */
  private pos = 0;
  private readonly result: DecodedBlock = { fields: [], count: 0, listSize: 0, overLimit: false };

  /** @param maxTableSize the SETTINGS_HEADER_TABLE_SIZE we advertise (the peer may not exceed it). */
  constructor(private readonly maxTableSize = 4096) {
    this.table = new DynamicTable(maxTableSize);
  }

  /**
   * Decodes the block `buf[start, end)`; throws HpackError on malformed input. The result is
   * valid until the next call.
   */
  decode(buf: Buffer, start: number, end: number, maxListSize: number): DecodedBlock {
    // One result object and fields array, reused: the caller reads them before the next block.
    const result = this.result;
    const fields = result.fields;
    let count = 0;
    result.listSize = 0;
    result.overLimit = false;
    this.pos = start;
    let sawField = false;
    while (this.pos < end) {
      const b = buf[this.pos]!;
      let name: string;
      let value: string;
      if (b & 0x80) {
        // Indexed field (§6.1).
        const index = this.readInt(buf, end, 7);
        if (index === 0) throw new HpackError('indexed field with index 0');
        name = this.name(index);
        value = this.value(index);
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update (§6.3): only before the first field of a block.
        if (sawField) throw new HpackError('dynamic table size update after a header field');
        const size = this.readInt(buf, end, 5);
        if (size > this.maxTableSize) throw new HpackError(`dynamic table size update to ${size} exceeds SETTINGS_HEADER_TABLE_SIZE ${this.maxTableSize}`);
        this.table.resize(size);
        continue;
      } else {
        // Literal (§6.2): with incremental indexing (01), without (0000) or never indexed (0001).
        const indexing = (b & 0xc0) === 0x40;
        const index = this.readInt(buf, end, indexing ? 6 : 4);
        name = index === 0 ? this.readString(buf, end) : this.name(index);
        value = this.readString(buf, end);
        if (indexing) this.table.add(name, value);
      }
      sawField = true;
      result.listSize += ENTRY_OVERHEAD + name.length + value.length;
      if (result.listSize > maxListSize) result.overLimit = true;
      else {
        fields[count++] = name;
        fields[count++] = value;
      }
    }
    result.count = count;
    return result;
  }

  private name(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_TABLE[index]![0];
    return this.table.name(this.dynamicIndex(index));
  }

  private value(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_TABLE[index]![1];
    return this.table.value(this.dynamicIndex(index));
  }

  private dynamicIndex(index: number): number {
    const i = index - STATIC_COUNT;
    if (i > this.table.length) throw new HpackError(`header index ${index} is past the end of the table`);
    return i;
  }

  /** Reads a string literal (§5.2) at `this.pos`. */
  private readString(buf: Buffer, end: number): string {
    if (this.pos >= end) throw new HpackError('truncated string literal');
    const huffman = (buf[this.pos]! & 0x80) !== 0;
    const length = this.readInt(buf, end, 7);
    const from = this.pos;
    const to = from + length;
    if (to > end) throw new HpackError('string literal runs past the end of the header block');
    this.pos = to;
    if (!huffman) return buf.toString('latin1', from, to);
    // Huffman codes are at least 5 bits: the output is at most 8/5 of the input.
    const bound = Math.ceil((length * 8) / 5);
    if (this.scratch.length < bound) this.scratch = Buffer.allocUnsafe(bound);
    try {
      return this.scratch.toString('latin1', 0, huffmanDecode(buf, from, length, this.scratch));
    } catch (err) {
      if (err instanceof HuffmanError) throw new HpackError(err.message);
      throw err;
    }
  }

  /** Reads a prefixed integer (§5.1) whose first octet is at `this.pos`. */
  private readInt(buf: Buffer, end: number, prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let value = buf[this.pos++]! & max;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= end) throw new HpackError('truncated integer');
      const b = buf[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return value;
      // Nothing in HTTP/2 needs integers past 2^28; longer encodings are an attack or a bug.
      if (shift > 28) throw new HpackError('integer too large');
    }
  }
}
