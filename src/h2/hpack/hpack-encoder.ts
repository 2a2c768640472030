/**
 * HPACK header block encoder (RFC 7541 §6). Exact static and dynamic matches become one-byte
 * indexed fields; other fields are added to the dynamic table unless their values change
 * per request (so a proxied gRPC call's headers shrink to a few bytes after the first one);
 * credentials are sent never-indexed (§7.1.3). Strings are Huffman-coded when that is shorter.
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
export interface NameInfo {
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

export function nameInfo(name: string): NameInfo {
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

/** The dynamic table's entries of one name. */
interface NameEntries {
  newest: number;
  readonly values: Map<string, number>;
}

export class HpackEncoder {
  private readonly table: DynamicTable;
  /**
   * What the dynamic table holds, per name: the insertion id of the newest entry with that name
   * and, per value, of the newest entry with that exact pair (no key strings built per field).
   */
  private readonly names = new Map<string, NameEntries>();
  /** A size update owed at the start of the next block (§4.2), or -1. */
  private pendingSizeUpdate = -1;
  private out = Buffer.allocUnsafe(16384);
  private pos = 0;

  constructor(tableSize = 4096) {
    this.table = new DynamicTable(tableSize);
    this.table.onEvict = (name, value, id) => {
      const entries = this.names.get(name);
      if (entries === undefined) return;
      if (entries.values.get(value) === id) entries.values.delete(value);
      if (entries.newest === id) this.names.delete(name);
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

  /** Adds one field; `name` must be lower-case. */
  field(name: string, value: string): void {
    this.fieldOf(nameInfo(name), value);
  }

  /** Adds one field whose name is described by `info` (see {@link nameInfo}). */
  fieldOf(info: NameInfo, value: string): void {
    const name = info.wire;
    this.ensure(name.length + value.length + 16);
    const staticPair = info.staticPairs?.get(value);
    if (staticPair !== undefined) {
      this.writeInt(0x80, 7, staticPair);
      return;
    }
    const dynamic = this.names.get(name);
    const dynamicPair = dynamic?.values.get(value);
    if (dynamicPair !== undefined) {
      this.writeInt(0x80, 7, this.indexOf(dynamicPair));
      return;
    }
    const nameIndex = info.staticIndex !== 0 ? info.staticIndex : dynamic === undefined ? 0 : this.indexOf(dynamic.newest);
    if (info.indexing === Indexing.Never) {
      this.writeInt(0x10, 4, nameIndex);
    } else if (info.indexing === Indexing.Not || value.length * 2 > this.table.maxSize) {
      this.writeInt(0x00, 4, nameIndex);
    } else {
      this.writeInt(0x40, 6, nameIndex);
      const id = this.table.inserted;
      this.table.add(name, value);
      if (32 + name.length + value.length <= this.table.maxSize) {
        if (dynamic === undefined) this.names.set(name, { newest: id, values: new Map([[value, id]]) });
        else {
          dynamic.newest = id;
          dynamic.values.set(value, id);
        }
      }
    }
    if (nameIndex === 0) this.writeString(name);
    this.writeString(value);
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

  private writeString(s: string): void {
    const huffLen = huffmanEncodedLength(s);
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
