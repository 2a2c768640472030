/**
 * HPACK header block encoder (RFC 7541 §6). Exact static and dynamic matches become one-byte
 * indexed fields; other fields are added to the dynamic table unless their values change
 * per request (so a proxied gRPC call's headers shrink to a few bytes after the first one),
 * and those name their header by index once it is in the table; credentials are sent
 * never-indexed (§7.1.3). Names and lasting values are Huffman-coded when that is shorter.
 */
import { DynamicTable } from './dynamic-table';
import { huffmanEncode, huffmanEncodedLength } from './huffman';
import { STATIC_COUNT, STATIC_NAME_INDEX, STATIC_PAIR_INDEX } from './static-table';

/**
 * Values that differ on nearly every request: indexing them would only churn the table.
 * (`date` changes once a second and the route's `x-envoy-expected-rq-timeout-ms` not at all:
 * both are indexed.)
 */
const NOT_INDEXED = new Set([
  'content-length', 'etag', 'last-modified', 'if-modified-since', 'age', 'expires',
  'x-request-id', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'traceparent', 'tracestate',
  'grpc-timeout', 'x-envoy-attempt-count', 'x-envoy-upstream-service-time',
  'grpc-message',
]);

/** Credentials: never indexed, here nor by any intermediary after us (§7.1.3). */
const NEVER_INDEXED = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

const enum Indexing {
  Incremental,
  Not,
  Never,
}

/** What the encoder needs to know about a header name, independent of any connection's table. */
interface NameInfo {
  /** The name as it goes on the wire (lower-case). */
  readonly wire: string;
  /** First static-table index with this name, or 0. */
  readonly staticIndex: number;
  /** Static entries with this name, by value. */
  readonly staticPairs: ReadonlyMap<string, number> | undefined;
  readonly indexing: Indexing;
}

/**
 * Names seen so far, as given (any case) → what the encoder needs: one lookup per field instead
 * of one per table and policy, and no lower-casing per request. Bounded like the decoder's
 * valid-name cache, so random names from a peer cannot grow it.
 */
const nameInfos = new Map<string, NameInfo>();
const NAME_INFOS_MAX = 4096;

function nameInfo(name: string): NameInfo {
  let info = nameInfos.get(name);
  if (info !== undefined) return info;
  const wire = name.toLowerCase();
  info = {
    wire,
    staticIndex: STATIC_NAME_INDEX.get(wire) ?? 0,
    staticPairs: STATIC_PAIR_INDEX.get(wire),
    indexing: NEVER_INDEXED.has(wire) ? Indexing.Never : NOT_INDEXED.has(wire) ? Indexing.Not : Indexing.Incremental,
  };
  if (nameInfos.size < NAME_INFOS_MAX) nameInfos.set(name, info);
  return info;
}

/** What one encoder knows of one header name: how to encode it, and what its dynamic table holds of it. */
interface EncoderName {
  readonly info: NameInfo;
  /** Insertion id of the newest dynamic entry with this name, or -1. */
  newest: number;
  /** value → the insertion id (>= 0) of the newest dynamic entry with that pair, or its static index negated. */
  readonly values: Map<string, number>;
}

/**
 * Names one encoder keeps records of (a record is shared by a name's spellings). Past this, a
 * name's record lives for one field only: its fields are still encoded right, just without
 * reference to what the table holds of it.
 */
const ENCODER_NAMES_MAX = 512;

export class HpackEncoder {
  private readonly table: DynamicTable;
  /**
   * Per name as given (and per wire name, the same record): one lookup finds the name's static
   * index, policy and dynamic entries, a second its value among static and dynamic pairs.
   */
  private readonly names = new Map<string, EncoderName>();
  /** A size update owed at the start of the next block (§4.2), or -1. */
  private pendingSizeUpdate = -1;
  private out = Buffer.allocUnsafe(16384);
  private pos = 0;

  constructor(tableSize = 4096) {
    this.table = new DynamicTable(tableSize);
    this.table.onEvict = (name, value, id) => {
      const entry = this.names.get(name);
      if (entry === undefined) return;
      if (entry.values.get(value) === id) entry.values.delete(value);
      // Entries leave oldest first: when the newest of a name goes, every one of it has gone.
      if (entry.newest === id) entry.newest = -1;
    };
  }

  /** The peer's SETTINGS_HEADER_TABLE_SIZE changed: use at most that, and say so in the next block. */
  setMaxTableSize(size: number): void {
    const next = Math.min(size, 4096);
    if (next === this.table.maxSize) return;
    this.table.resize(next);
    this.pendingSizeUpdate = next;
  }

  /** Starts a header block. */
  begin(): void {
    this.pos = 0;
    if (this.pendingSizeUpdate >= 0) {
      this.ensure(8);
      this.writeInt(0x20, 5, this.pendingSizeUpdate);
      this.pendingSizeUpdate = -1;
    }
  }

  /** Adds one field; `name` in any case (it goes on the wire lower-case). */
  field(name: string, value: string): void {
    const entry = this.entryOf(name);
    const info = entry.info;
    const wire = info.wire;
    this.ensure(wire.length + value.length + 16);
    // Values of churning names are not looked up: they are new strings (hashing them costs more
    // than the rare repeat would save) and only their first one is ever in the table.
    const known = info.indexing === Indexing.Not ? undefined : entry.values.get(value);
    if (known !== undefined) {
      this.writeInt(0x80, 7, known < 0 ? -known : this.indexOf(known));
      return;
    }
    const nameIndex = info.staticIndex !== 0 ? info.staticIndex : entry.newest >= 0 ? this.indexOf(entry.newest) : 0;
    if (info.indexing === Indexing.Never) {
      this.writeInt(0x10, 4, nameIndex);
    } else if (value.length * 2 > this.table.maxSize || (info.indexing === Indexing.Not && nameIndex !== 0)) {
      this.writeInt(0x00, 4, nameIndex);
    } else {
      // Indexed: ordinary fields, and the first of a name whose values churn, so that its later
      // fields name it by index instead of spelling it out (x-request-id, x-envoy-upstream-service-time).
      this.writeInt(0x40, 6, nameIndex);
      const id = this.table.inserted;
      this.table.add(wire, value);
      if (32 + wire.length + value.length <= this.table.maxSize) {
        entry.newest = id;
        entry.values.set(value, id);
      }
    }
    if (nameIndex === 0) this.writeString(wire, true);
    // A value that changes per request is sent as it is: Huffman-coding it would cost more CPU on
    // every request than the few bytes it saves (HAProxy never Huffman-codes).
    this.writeString(value, info.indexing !== Indexing.Not);
  }

  private entryOf(name: string): EncoderName {
    const cached = this.names.get(name);
    if (cached !== undefined) return cached;
    const info = nameInfo(name);
    let entry = info.wire === name ? undefined : this.names.get(info.wire);
    if (entry === undefined) {
      entry = { info, newest: -1, values: new Map() };
      if (info.staticPairs !== undefined) for (const [value, index] of info.staticPairs) entry.values.set(value, -index);
    }
    // Both spellings or neither: eviction finds the record by its wire name.
    if (this.names.size + 2 <= ENCODER_NAMES_MAX) {
      this.names.set(name, entry);
      this.names.set(info.wire, entry);
    }
    return entry;
  }

  /** Ends the block: its bytes, valid until the next begin(). */
  end(): Buffer {
    return this.out.subarray(0, this.pos);
  }

  /** The block's bytes are `buffer[0, length)` until the next begin() (no view object made). */
  get buffer(): Buffer {
    return this.out;
  }

  get length(): number {
    return this.pos;
  }

  private indexOf(id: number): number {
    return STATIC_COUNT + (this.table.inserted - id);
  }

  private writeString(s: string, huffman: boolean): void {
    const huffLen = huffman ? huffmanEncodedLength(s) : s.length;
    if (huffLen < s.length) {
      this.writeInt(0x80, 7, huffLen);
      this.pos = huffmanEncode(s, this.out, this.pos);
    } else {
      this.writeInt(0x00, 7, s.length);
      const out = this.out;
      let pos = this.pos;
      // Short strings byte by byte: cheaper than a call into Buffer#write.
      if (s.length < 64) for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i);
      else pos += out.write(s, pos, 'latin1');
      this.pos = pos;
    }
  }

  /** Prefixed integer (§5.1) with `flags` in the bits above the prefix. */
  private writeInt(flags: number, prefixBits: number, value: number): void {
    const max = (1 << prefixBits) - 1;
    if (value < max) {
      this.out[this.pos++] = flags | value;
      return;
    }
    this.out[this.pos++] = flags | max;
    value -= max;
    while (value >= 128) {
      this.out[this.pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.out[this.pos++] = value;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.pos + extra));
    this.out.copy(bigger, 0, 0, this.pos);
    this.out = bigger;
  }
}
