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
    this.ensure(name.length + value.length + 16);
    const staticPair = STATIC_PAIR_INDEX.get(name)?.get(value);
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
    const nameIndex = STATIC_NAME_INDEX.get(name) ?? (dynamic === undefined ? 0 : this.indexOf(dynamic.newest));
    if (NEVER_INDEXED.has(name)) {
      this.writeInt(0x10, 4, nameIndex);
    } else if (NOT_INDEXED.has(name) || value.length * 2 > this.table.maxSize) {
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
      this.pos += this.out.write(s, this.pos, 'latin1');
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
