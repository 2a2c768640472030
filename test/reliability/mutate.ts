/**
 * Deterministic mutations of real configuration, for fuzzing the config decoders:
 * structural ones on parsed JSON (delete a field, swap its type, put an extreme value
 * in it, empty or duplicate a list) and byte-level ones on serialized protobuf
 * (truncate, flip, insert, replace with noise). Every choice comes from a seeded PRNG,
 * so a failure names a seed and an iteration that reproduce it.
 */

/** mulberry32: small, fast, good enough to pick mutations. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every location in a JSON tree: the container and the key/index in it. */
interface Slot {
  readonly parent: Json[] | { [k: string]: Json };
  readonly key: string | number;
  readonly path: string;
}

function slots(root: Json, path = ''): Slot[] {
  const out: Slot[] = [];
  if (Array.isArray(root)) {
    root.forEach((v, i) => {
      out.push({ parent: root, key: i, path: `${path}[${i}]` });
      out.push(...slots(v, `${path}[${i}]`));
    });
  } else if (root !== null && typeof root === 'object') {
    for (const k of Object.keys(root)) {
      out.push({ parent: root, key: k, path: path ? `${path}.${k}` : k });
      out.push(...slots(root[k]!, path ? `${path}.${k}` : k));
    }
  }
  return out;
}

const WEIRD_STRINGS = [
  '', ' ', '\0', 'a\r\nb', '../../etc/passwd', '%00', '${x}', '*', '[', '(?=x)', '\u{1F600}', 'é'.repeat(3),
  'x'.repeat(70_000), '-1', '1e400', 'NaN', 'true', 'null', '0.0.0.0', '::', '999.1.1.1', '10s', '-5s', '1.5', 'type.googleapis.com/nope.Nope',
];
const WEIRD_NUMBERS = [0, -1, 1, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 53 + 1, -(2 ** 63), 1e308, 0.5, -0.0, Number.MAX_SAFE_INTEGER, Infinity, -Infinity, NaN];

function randomValue(rng: Rng, depth = 0): Json {
  switch (rng.int(depth > 1 ? 4 : 6)) {
    case 0: return rng.pick(WEIRD_STRINGS);
    case 1: return rng.pick(WEIRD_NUMBERS) as number;
    case 2: return rng.next() < 0.5;
    case 3: return null;
    case 4: return [randomValue(rng, depth + 1)];
    default: return { [rng.pick(['name', 'value', 'seconds', '@type', 'x', 'typed_config', 'nanos'])]: randomValue(rng, depth + 1) };
  }
}

/** A value of another JSON type than `v` (string → number, object → list, ...). */
function swapType(rng: Rng, v: Json): Json {
  for (;;) {
    const r = randomValue(rng);
    const kind = (x: Json): string => (Array.isArray(x) ? 'array' : x === null ? 'null' : typeof x);
    if (kind(r) !== kind(v)) return r;
  }
}

/** What one structural mutation did, for failure messages. */
export interface JsonMutation {
  readonly op: string;
  readonly path: string;
}

/**
 * Applies 1–3 structural mutations to a deep copy of `doc`; returns the copy and what was done.
 */
export function mutateJson<T>(doc: T, rng: Rng): { readonly value: T; readonly mutations: JsonMutation[] } {
  const copy = structuredClone(doc) as unknown as Json;
  const done: JsonMutation[] = [];
  const count = 1 + rng.int(3);
  for (let i = 0; i < count; i++) {
    const all = slots(copy);
    if (all.length === 0) break;
    const s = rng.pick(all);
    const parent = s.parent as Record<string | number, Json>;
    const cur = parent[s.key]!;
    const op = rng.pick(['delete', 'swap-type', 'random', 'random', 'empty', 'duplicate', 'unknown-field']);
    switch (op) {
      case 'delete':
        if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
        else delete parent[s.key];
        break;
      case 'swap-type':
        parent[s.key] = swapType(rng, cur);
        break;
      case 'random':
        parent[s.key] = randomValue(rng);
        break;
      case 'empty':
        parent[s.key] = Array.isArray(cur) ? [] : cur !== null && typeof cur === 'object' ? {} : typeof cur === 'string' ? '' : 0;
        break;
      case 'duplicate':
        if (Array.isArray(cur) && cur.length > 0) cur.push(structuredClone(cur[0]!));
        else if (Array.isArray(s.parent)) s.parent.push(structuredClone(cur));
        else parent[s.key] = [cur, cur];
        break;
      default:
        if (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) cur[rng.pick(['bogus_field', 'nameX', 'typed_config'])] = randomValue(rng);
        else parent[s.key] = randomValue(rng);
    }
    done.push({ op, path: s.path });
  }
  return { value: copy as unknown as T, mutations: done };
}

/** A byte-level mutation of serialized protobuf. */
export function mutateBytes(bytes: Uint8Array, rng: Rng): { readonly value: Uint8Array; readonly op: string } {
  const b = Buffer.from(bytes);
  switch (rng.int(5)) {
    case 0: {
      const at = rng.int(Math.max(1, b.length));
      return { value: b.subarray(0, at), op: `truncate@${at}` };
    }
    case 1: {
      const n = 1 + rng.int(4);
      for (let i = 0; i < n && b.length; i++) b[rng.int(b.length)] = rng.int(256);
      return { value: b, op: `flip×${n}` };
    }
    case 2: {
      const at = rng.int(b.length + 1);
      const junk = Buffer.from(Array.from({ length: 1 + rng.int(16) }, () => rng.int(256)));
      return { value: Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]), op: `insert@${at}` };
    }
    case 3: {
      // A length prefix made huge: the classic out-of-bounds read.
      const at = rng.int(Math.max(1, b.length));
      if (b.length) b[at] = 0xff;
      return { value: Buffer.concat([b, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])]), op: `varint@${at}` };
    }
    default:
      return { value: Buffer.from(Array.from({ length: rng.int(512) }, () => rng.int(256))), op: 'noise' };
  }
}
