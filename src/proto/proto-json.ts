/**
 * Proto3-JSON decoder driven by protobufjs reflection. It turns a bootstrap
 * file or an xDS resource into the NORMALIZED FORM, the only shape code
 * beyond `xds/resources/` and `bootstrap/` ever sees (STYLE.md §4.1).
 *
 * NORMALIZED FORM (other modules rely on every rule; change them together):
 *
 *  - A message is a plain object keyed by snake_case proto field names. Only
 *    fields present in the input appear; defaults are never filled in.
 *    Input may spell a field either way (`connect_timeout` or the lowerCamel
 *    JSON name `connectTimeout`); giving both is an error.
 *  - A singular field set to JSON null is absent (except Value/NullValue).
 *    A repeated field is an array (null → []); a map is a plain object whose
 *    keys are strings (integer keys canonicalized, e.g. "007" → "7").
 *  - Enums are value NAMES ("STRICT_DNS"); input may use the name or the number.
 *  - int32/uint32/sint32/fixed32/sfixed32 → number, range-checked.
 *  - int64/uint64/sint64/fixed64/sfixed64 → number when within
 *    ±Number.MAX_SAFE_INTEGER, otherwise a decimal STRING (so uint64 max stays
 *    exact); input may be a number, a decimal string or a bigint.
 *  - float/double → number (input "NaN", "Infinity", "-Infinity" allowed).
 *    bool → boolean (only true/false). string → string. bytes → Buffer
 *    (input base64, standard or URL-safe, padding optional).
 *  - google.protobuf.Duration → number of MILLISECONDS, fractional allowed
 *    ("1.5s" → 1500, "0.000001s" → 0.001). Input "<n>[.f]s" (≤ 9 fraction
 *    digits, optional '-') or {seconds, nanos}. Sub-millisecond digits are
 *    exact for durations below about 26 days (float64 precision).
 *  - google.protobuf.Timestamp → canonical RFC 3339 UTC string
 *    ("2024-01-02T03:04:05.500Z", fraction digits 0/3/6/9).
 *  - Wrappers (UInt32Value, BoolValue, StringValue, Int64Value...) → the bare
 *    value, by the scalar rules above; input may also be {value: x}.
 *  - Struct → plain object, Value → plain JSON value, ListValue → array,
 *    NullValue → null. Never a protobufjs message.
 *  - FieldMask → array of snake_case paths (["foo_bar.baz"]).
 *  - Any → { "@type": url, ...fields of the packed message }, or for a packed
 *    well-known type { "@type": url, value: <its normalized form> }. An Any
 *    whose type is not loaded is NOT an error: it becomes
 *    { "@type": url, "@unresolved": true, "@json": <input minus @type> } from
 *    JSON or { "@type": url, "@unresolved": true, "@bytes": Buffer } from
 *    binary; the extension registry decides whether to reject it.
 *  - Decoding a well-known type other than Any or Struct at the top level
 *    (rare) gives its normalized value under the key `value`, as inside an Any.
 *
 * Issues carry paths made of proto field names (`a.b[0]["key"].c`); an Any
 * adds no segment of its own (`typed_config.route_config.name`); an unknown
 * field ends the path as it was spelled (`clusters[0].fooBar`). PGV
 * annotations are checked by `pgv-validate.ts` as each message is built.
 *
 * Values hold Buffers (bytes, `@bytes`), which `Object.freeze` rejects: a
 * deep-freeze must skip them.
 */
import * as protobuf from 'protobufjs/light';
import { validateMessage } from './pgv-validate';
import { fullNameOf } from './proto-types';
import {
  type DecodeOptions,
  type DecodeResult,
  type ProtoObject,
  type ProtoValue,
  isPlainObject,
  joinPath,
  keyPath,
  kindOf,
} from './proto-types';
import { Invalid, parseScalar, preview } from './scalar-values';
import { type DecodeContext, report, wellKnownNormalizer } from './well-known-json';

export type { ConfigIssue, DecodeOptions, DecodeResult, ProtoObject, ProtoValue } from './proto-types';

/** Nesting limit, as protobuf's parsers have one (default 100), so hostile input cannot blow the stack. */
const MAX_DEPTH = 100;
/** Enum names listed in an "unknown value" message. */
const MAX_LISTED_ENUM_NAMES = 10;

const OBJECT_WKTS = new Set(['.google.protobuf.Any', '.google.protobuf.Struct']);

/** Sentinel of a field whose JSON value (null) means "absent". */
const ABSENT = Symbol('absent');

interface WalkContext extends DecodeContext {
  depth: number;
}

/**
 * Decodes proto3 JSON (as parsed from YAML or JSON) into the normalized form
 * of `type`. Never throws on bad input: every problem becomes an issue, and
 * decoding goes on so that one pass reports all of them.
 */
export function decodeJson(type: protobuf.Type, input: unknown, opts: DecodeOptions = {}): DecodeResult {
  return decodeInput(type, input, opts, false);
}

/**
 * Shared entry of the JSON and binary decoders. `binary` means `input` is the
 * protobufjs `toObject` form of a decoded message (see `proto-binary.ts`).
 */
export function decodeInput(type: protobuf.Type, input: unknown, opts: DecodeOptions, binary: boolean): DecodeResult {
  const ctx: WalkContext = {
    binary,
    allowUnknownFields: opts.allowUnknownFields ?? false,
    errors: [],
    warnings: [],
    depth: 0,
    decodeMessage: (t, raw, path) => decodeMessage(t, raw, path, ctx),
  };
  const decoded = ctx.decodeMessage(type, input, opts.path ?? '');
  // Any and Struct normalize to objects; other well-known types are wrapped.
  const bare = wellKnownNormalizer(type) === undefined || OBJECT_WKTS.has(fullNameOf(type));
  const value = bare ? ((decoded ?? {}) as ProtoObject) : decoded === undefined ? {} : { value: decoded };
  return { value, errors: ctx.errors, warnings: ctx.warnings };
}

// === Messages ===

function decodeMessage(type: protobuf.Type, input: unknown, path: string, ctx: WalkContext): ProtoValue | undefined {
  if (ctx.depth >= MAX_DEPTH) return report(ctx, path, `message nesting exceeds ${MAX_DEPTH} levels`);
  ctx.depth++;
  try {
    const wkt = wellKnownNormalizer(type);
    if (wkt !== undefined) return wkt(input, path, ctx);
    if (!isPlainObject(input)) return report(ctx, path, `expected an object for message ${fullNameOf(type).slice(1)}, got ${kindOf(input)}`);
    return decodeFields(type, input, path, ctx);
  } finally {
    ctx.depth--;
  }
}

function decodeFields(type: protobuf.Type, input: Record<string, unknown>, path: string, ctx: WalkContext): ProtoObject {
  const index = fieldIndex(type);
  const out: Record<string, ProtoValue> = {};
  // Allocated only when a field fails (a 100-service bootstrap decodes thousands of messages).
  let failed: Set<string> | undefined;
  const keys = Object.keys(input);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const spelling = index.get(key);
    if (spelling === undefined) {
      const issue = { path: joinPath(path, key), message: `unknown field "${key}" (not in ${fullNameOf(type).slice(1)})` };
      (ctx.allowUnknownFields ? ctx.warnings : ctx.errors).push(issue);
      continue;
    }
    const field = spelling.field;
    const fieldPath = joinPath(path, field.name);
    // The same field under its other spelling earlier in the object: the first one counts.
    const other = spelling.other;
    if (other !== undefined && Object.hasOwn(input, other) && keys.indexOf(other) < i) {
      report(ctx, fieldPath, `field "${field.name}" is given twice (as "${other}" and "${key}")`);
      continue;
    }
    const raw = input[key];
    if (raw === undefined) continue;
    const v = decodeField(field, raw, fieldPath, ctx);
    if (v === undefined) (failed ??= new Set()).add(field.name);
    else if (v !== ABSENT) out[field.name] = v;
  }
  checkOneofs(type, out, failed ?? NONE_FAILED, path, ctx);
  validateMessage(type, out, path, failed ?? NONE_FAILED, ctx.errors);
  return out;
}

const NONE_FAILED: ReadonlySet<string> = new Set();

/** Proto3 JSON forbids setting two members of a oneof, even to defaults. */
function checkOneofs(type: protobuf.Type, out: ProtoObject, failed: ReadonlySet<string>, path: string, ctx: WalkContext): void {
  for (const oneof of type.oneofsArray) {
    const isSet = (name: string): boolean => Object.hasOwn(out, name) || failed.has(name);
    let count = 0;
    for (const name of oneof.oneof) if (isSet(name)) count++;
    if (count > 1) report(ctx, path, `only one of ${oneof.oneof.filter(isSet).map((n) => `"${n}"`).join(', ')} may be set (oneof ${oneof.name})`);
  }
}

// === Fields ===

function decodeField(field: protobuf.Field, raw: unknown, path: string, ctx: WalkContext): ProtoValue | undefined | typeof ABSENT {
  if (field.map) {
    if (raw === null) return {};
    if (!isPlainObject(raw)) return report(ctx, path, `expected an object for map field, got ${kindOf(raw)}`);
    const keyType = (field as unknown as protobuf.MapField).keyType;
    const out: Record<string, ProtoValue> = {};
    let ok = true;
    for (const [k, v] of Object.entries(raw)) {
      const key = mapKey(keyType, k);
      const p = keyPath(path, k);
      const value = key instanceof Invalid ? report(ctx, p, key) : decodeSingle(field, v, p, ctx, true);
      if (key instanceof Invalid || value === undefined || value === ABSENT) ok = false;
      else out[key] = value;
    }
    return ok ? out : undefined;
  }
  if (field.repeated) {
    if (raw === null) return [];
    if (!Array.isArray(raw)) return report(ctx, path, `expected an array for repeated field, got ${kindOf(raw)}`);
    const out: ProtoValue[] = [];
    let ok = true;
    raw.forEach((item, i) => {
      const value = decodeSingle(field, item, `${path}[${i}]`, ctx, true);
      if (value === undefined || value === ABSENT) ok = false;
      else out.push(value);
    });
    return ok ? out : undefined;
  }
  return decodeSingle(field, raw, path, ctx, false);
}

/** One value of a field: the field itself, an element of a repeated field, or a map value. */
function decodeSingle(field: protobuf.Field, raw: unknown, path: string, ctx: WalkContext, element: boolean): ProtoValue | undefined | typeof ABSENT {
  // Resolved here, for the fields an input sets, not for every field of the type: resolving
  // builds the field's type, and the descriptor builds types only when reached (descriptor-chunks.ts).
  const resolved = field.resolve().resolvedType;
  const nullable = resolved !== null && (fullNameOf(resolved) === '.google.protobuf.Value' || fullNameOf(resolved) === '.google.protobuf.NullValue');
  if (raw === null && !nullable) {
    return element ? report(ctx, path, `null is not allowed as an element of a repeated or map field`) : ABSENT;
  }
  if (resolved instanceof protobuf.Type) return ctx.decodeMessage(resolved, raw, path);
  if (resolved instanceof protobuf.Enum) return decodeEnum(resolved, raw, path, ctx);
  const v = parseScalar(field.type, raw, ctx.binary);
  return v instanceof Invalid ? report(ctx, path, v) : v;
}

function decodeEnum(type: protobuf.Enum, raw: unknown, path: string, ctx: WalkContext): ProtoValue | undefined {
  const name = fullNameOf(type).slice(1);
  if (name === 'google.protobuf.NullValue') {
    return raw === null || raw === 'NULL_VALUE' || raw === 0 ? null : report(ctx, path, `expected null for google.protobuf.NullValue, got ${kindOf(raw)}`);
  }
  if (typeof raw === 'string' && Object.prototype.hasOwnProperty.call(type.values, raw)) return raw;
  if (typeof raw === 'number' && Number.isInteger(raw) && type.valuesById[raw] !== undefined) return type.valuesById[raw]!;
  if (typeof raw !== 'string' && typeof raw !== 'number') {
    return report(ctx, path, `expected an enum name or number for enum ${name}, got ${kindOf(raw)}`);
  }
  const names = Object.keys(type.values);
  const listed = names.slice(0, MAX_LISTED_ENUM_NAMES).join(', ') + (names.length > MAX_LISTED_ENUM_NAMES ? ', ...' : '');
  const shown = typeof raw === 'string' ? `"${preview(raw)}"` : String(raw);
  return report(ctx, path, `unknown value ${shown} for enum ${name}; valid values: ${listed}`);
}

/** Map keys arrive as JSON strings whatever the key type; integer keys are canonicalized. */
function mapKey(keyType: string, key: string): string | Invalid {
  if (keyType === 'string') return key;
  if (keyType === 'bool') return key === 'true' || key === 'false' ? key : new Invalid(`invalid bool map key "${preview(key)}"`);
  const n = parseScalar(keyType, key, false);
  return n instanceof Invalid ? new Invalid(`invalid ${keyType} map key "${preview(key)}"`) : String(n);
}

/** A key an input may use for a field, and the field's other accepted spelling (if any). */
interface Spelling {
  readonly field: protobuf.Field;
  readonly other: string | undefined;
}

const indexes = new WeakMap<protobuf.Type, Map<string, Spelling>>();

/** Both spellings of every field of a type (proto name and JSON name), built once per type. */
function fieldIndex(type: protobuf.Type): Map<string, Spelling> {
  let index = indexes.get(type);
  if (index === undefined) {
    const built = new Map<string, Spelling>();
    // Proto names first: a JSON name never shadows another field's proto name.
    for (const field of type.fieldsArray) built.set(field.name, { field, other: undefined });
    for (const field of type.fieldsArray) {
      const json = field.jsonName ?? lowerCamel(field.name);
      if (built.has(json)) continue;
      built.set(json, { field, other: field.name });
      built.set(field.name, { field, other: json });
    }
    indexes.set(type, (index = built));
  }
  return index;
}

/** protoc's ToJsonName: drop underscores, upper-case the letter after each. */
function lowerCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}
