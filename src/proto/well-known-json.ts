/**
 * Normalizers for the google.protobuf well-known types that have their own
 * proto3 JSON form (Any, Duration, Timestamp, FieldMask, Struct, Value,
 * ListValue and the wrappers). Each accepts the proto3 JSON form and the
 * protobufjs `toObject` form (`{seconds, nanos}`, `{value}`, `{fields}`...),
 * the latter being what `proto-binary.ts` feeds in. The result shapes are
 * listed in the header of `proto-json.ts`.
 */
import type * as protobuf from 'protobufjs';
import { lookupByTypeUrl, lookupMessage } from './envoy-protos';
import { fullNameOf } from './proto-types';
import { type ConfigIssue, type ProtoObject, type ProtoValue, isPlainObject, keyPath, kindOf } from './proto-types';
import {
  Invalid,
  durationFromParts,
  parseDurationString,
  parseScalar,
  parseTimestampString,
  timestampFromParts,
} from './scalar-values';

/** State of one decode call, threaded through the recursive walk. */
export interface DecodeContext {
  /** Input is protobufjs `toObject` output (from binary), not proto3 JSON. */
  readonly binary: boolean;
  /** Unknown JSON fields become warnings instead of errors. */
  readonly allowUnknownFields: boolean;
  /** Collected errors; a decode succeeded only if this stays empty. */
  readonly errors: ConfigIssue[];
  /** Collected warnings. */
  readonly warnings: ConfigIssue[];
  /** Decodes any message (well-known or not); undefined after reporting an error. */
  decodeMessage(type: protobuf.Type, input: unknown, path: string): ProtoValue | undefined;
}

/** Nesting limit inside Struct/Value/ListValue payloads (the protobuf parsers' default of 100). */
const MAX_JSON_DEPTH = 100;

type Normalizer = (input: unknown, path: string, ctx: DecodeContext) => ProtoValue | undefined;

const WRAPPERS: Record<string, string> = {
  DoubleValue: 'double',
  FloatValue: 'float',
  Int64Value: 'int64',
  UInt64Value: 'uint64',
  Int32Value: 'int32',
  UInt32Value: 'uint32',
  BoolValue: 'bool',
  StringValue: 'string',
  BytesValue: 'bytes',
};

const NORMALIZERS = new Map<string, Normalizer>([
  ['google.protobuf.Any', any],
  ['google.protobuf.Duration', duration],
  ['google.protobuf.Timestamp', timestamp],
  ['google.protobuf.FieldMask', fieldMask],
  ['google.protobuf.Struct', struct],
  ['google.protobuf.Value', value],
  ['google.protobuf.ListValue', listValue],
  ...Object.entries(WRAPPERS).map(([name, scalar]): [string, Normalizer] => [`google.protobuf.${name}`, wrapper(scalar)]),
]);

/** The normalizer of a type with a special JSON form, or undefined for ordinary messages. */
export function wellKnownNormalizer(type: protobuf.Type): Normalizer | undefined {
  return NORMALIZERS.get(fullNameOf(type).slice(1));
}

/** The scalar type a wrapper message (`google.protobuf.UInt32Value`...) carries, if it is one. */
export function wrappedScalar(type: protobuf.Type): string | undefined {
  const name = fullNameOf(type).slice(1);
  return name.startsWith('google.protobuf.') ? WRAPPERS[name.slice(16)] : undefined;
}

/** Records an error (or a bad-value result) at `path`. Always returns undefined. */
export function report(ctx: DecodeContext, path: string, problem: string | Invalid): undefined {
  ctx.errors.push({ path, message: problem instanceof Invalid ? problem.message : problem });
  return undefined;
}

/**
 * Decodes protobuf bytes of `type` into the protobufjs object form that the
 * binary normalizer reads (snake_case keys, 64-bit integers as decimal
 * strings, enums as numbers, bytes as Buffers). Never throws.
 */
export function bytesToObjectForm(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> | Invalid {
  try {
    const message = type.decode(bytes);
    return type.toObject(message, { longs: String });
  } catch (err) {
    return new Invalid(`invalid protobuf bytes for ${fullNameOf(type).slice(1)}: ${(err as Error).message}`);
  }
}

// === Any ===

function any(input: unknown, path: string, ctx: DecodeContext): ProtoValue | undefined {
  if (!isPlainObject(input)) return report(ctx, path, `expected an object for google.protobuf.Any, got ${kindOf(input)}`);
  return ctx.binary ? anyFromBinary(input, path, ctx) : anyFromJson(input, path, ctx);
}

function anyFromJson(input: Record<string, unknown>, path: string, ctx: DecodeContext): ProtoValue | undefined {
  const { '@type': url, ...rest } = input;
  if (url === undefined) return report(ctx, path, 'google.protobuf.Any is missing "@type"');
  if (typeof url !== 'string' || url === '') return report(ctx, path, `"@type" must be a non-empty string, got ${kindOf(url)}`);
  const type = lookupByTypeUrl(url);
  // Unknown types are not an error here: the extension registry, keyed by
  // type URL, decides whether an unresolved config is acceptable.
  if (type === undefined) {
    // Copied (not aliased) so the normalized value owns all of its objects.
    const json = jsonValue(rest, path, ctx);
    return json === undefined ? undefined : { '@type': url, '@unresolved': true, '@json': json };
  }
  if (wellKnownNormalizer(type) !== undefined) {
    for (const key of Object.keys(rest)) {
      if (key !== 'value') report(ctx, `${path}.${key}`, `unknown field "${key}" (an Any holding ${fullNameOf(type).slice(1)} has only "value")`);
    }
    const inner = ctx.decodeMessage(type, rest['value'], `${path}.value`);
    return inner === undefined ? undefined : { '@type': url, value: inner };
  }
  const inner = ctx.decodeMessage(type, rest, path);
  return inner === undefined ? undefined : { '@type': url, ...(inner as ProtoObject) };
}

function anyFromBinary(input: Record<string, unknown>, path: string, ctx: DecodeContext): ProtoValue | undefined {
  const url = input['type_url'];
  const bytes = input['value'] instanceof Uint8Array ? input['value'] : new Uint8Array(0);
  if (typeof url !== 'string' || url === '') return report(ctx, path, 'google.protobuf.Any has an empty type_url');
  const type = lookupByTypeUrl(url);
  if (type === undefined) return { '@type': url, '@unresolved': true, '@bytes': Buffer.from(bytes) };
  const object = bytesToObjectForm(type, bytes);
  if (object instanceof Invalid) return report(ctx, path, object);
  const inner = ctx.decodeMessage(type, object, path);
  if (inner === undefined) return undefined;
  return wellKnownNormalizer(type) !== undefined ? { '@type': url, value: inner } : { '@type': url, ...(inner as ProtoObject) };
}

// === Duration, Timestamp, FieldMask ===

function duration(input: unknown, path: string, ctx: DecodeContext): number | undefined {
  const ms =
    typeof input === 'string' && !ctx.binary
      ? parseDurationString(input)
      : isPlainObject(input)
        ? durationFromParts(input)
        : new Invalid(`invalid duration ${typeof input === 'number' ? String(input) : kindOf(input)}: expected a string like "1.5s"`);
  return ms instanceof Invalid ? report(ctx, path, ms) : ms;
}

function timestamp(input: unknown, path: string, ctx: DecodeContext): string | undefined {
  const ts =
    typeof input === 'string' && !ctx.binary
      ? parseTimestampString(input)
      : isPlainObject(input)
        ? timestampFromParts(input)
        : new Invalid(`expected an RFC 3339 string for google.protobuf.Timestamp, got ${kindOf(input)}`);
  return ts instanceof Invalid ? report(ctx, path, ts) : ts;
}

function fieldMask(input: unknown, path: string, ctx: DecodeContext): string[] | undefined {
  if (typeof input === 'string' && !ctx.binary) {
    // JSON spells the paths in lowerCamel; the normalized form uses proto names.
    return input
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '')
      .map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
  }
  if (isPlainObject(input) && Object.keys(input).every((k) => k === 'paths')) {
    const paths = input['paths'] ?? [];
    if (Array.isArray(paths) && paths.every((p) => typeof p === 'string')) return paths as string[];
  }
  return report(ctx, path, `expected a comma-separated string for google.protobuf.FieldMask, got ${kindOf(input)}`);
}

// === Wrappers ===

function wrapper(scalar: string): Normalizer {
  return (input, path, ctx) => {
    let raw = input;
    // The object form {value: x} (protobufjs, or hand-written); an absent
    // value is the scalar's default, which binary encoding leaves out.
    if (isPlainObject(input)) {
      for (const key of Object.keys(input)) {
        if (key !== 'value') return report(ctx, `${path}.${key}`, `unknown field "${key}" (a ${scalar} wrapper has only "value")`);
      }
      raw = input['value'] ?? scalarDefault(scalar);
    }
    const v = parseScalar(scalar, raw, ctx.binary);
    return v instanceof Invalid ? report(ctx, path, v) : v;
  };
}

function scalarDefault(scalar: string): unknown {
  if (scalar === 'string') return '';
  if (scalar === 'bool') return false;
  if (scalar === 'bytes') return Buffer.alloc(0);
  return 0;
}

// === Struct, Value, ListValue ===

function struct(input: unknown, path: string, ctx: DecodeContext): ProtoObject | undefined {
  if (ctx.binary) {
    const fields = isPlainObject(input) ? (input['fields'] ?? {}) : undefined;
    if (!isPlainObject(fields)) return report(ctx, path, 'malformed google.protobuf.Struct');
    return mapEntries(fields, path, (v, p) => valueFromObjectForm(v, p, ctx));
  }
  if (!isPlainObject(input)) return report(ctx, path, `expected an object for google.protobuf.Struct, got ${kindOf(input)}`);
  return mapEntries(input, path, (v, p) => jsonValue(v, p, ctx));
}

function value(input: unknown, path: string, ctx: DecodeContext): ProtoValue | undefined {
  return ctx.binary ? valueFromObjectForm(input, path, ctx) : jsonValue(input, path, ctx);
}

function listValue(input: unknown, path: string, ctx: DecodeContext): ProtoValue[] | undefined {
  if (ctx.binary) {
    const values = isPlainObject(input) ? (input['values'] ?? []) : undefined;
    if (!Array.isArray(values)) return report(ctx, path, 'malformed google.protobuf.ListValue');
    return collect(values, path, (v, p) => valueFromObjectForm(v, p, ctx));
  }
  if (!Array.isArray(input)) return report(ctx, path, `expected an array for google.protobuf.ListValue, got ${kindOf(input)}`);
  return collect(input, path, (v, p) => jsonValue(v, p, ctx, 1));
}

/**
 * Copies any JSON value, rejecting what JSON cannot hold (Buffers, bigints...).
 * Depth is bounded like message nesting, so hostile input cannot overflow the stack.
 */
function jsonValue(input: unknown, path: string, ctx: DecodeContext, depth = 0): ProtoValue | undefined {
  if (input === null || typeof input === 'string' || typeof input === 'boolean' || typeof input === 'number') return input;
  if (depth >= MAX_JSON_DEPTH) return report(ctx, path, `JSON value nesting exceeds ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(input)) return collect(input, path, (v, p) => jsonValue(v, p, ctx, depth + 1));
  if (isPlainObject(input)) return mapEntries(input, path, (v, p) => jsonValue(v, p, ctx, depth + 1));
  return report(ctx, path, `expected a JSON value for google.protobuf.Value, got ${kindOf(input)}`);
}

/**
 * The key protobufjs uses for a kind of google.protobuf.Value. Its bundled
 * struct.proto definition spells them in camelCase (`stringValue`) even with
 * `keepCase`, unlike every file parsed from disk.
 */
export function valueKindKey(snake: 'null_value' | 'number_value' | 'string_value' | 'bool_value' | 'struct_value' | 'list_value'): string {
  valueKindsCamel ??= lookupMessage('google.protobuf.Value')?.fields['null_value'] === undefined;
  return valueKindsCamel ? snake.replace(/_v/, 'V') : snake;
}

let valueKindsCamel: boolean | undefined;

/** The protobufjs form of a Value: one of its kind fields set ({} means null). */
function valueFromObjectForm(input: unknown, path: string, ctx: DecodeContext): ProtoValue | undefined {
  if (!isPlainObject(input)) return report(ctx, path, 'malformed google.protobuf.Value');
  const kind = (snake: Parameters<typeof valueKindKey>[0]): unknown => input[valueKindKey(snake)];
  if (kind('string_value') !== undefined) return String(kind('string_value'));
  if (kind('number_value') !== undefined) return Number(kind('number_value'));
  if (kind('bool_value') !== undefined) return Boolean(kind('bool_value'));
  if (kind('struct_value') !== undefined) return struct(kind('struct_value'), path, ctx);
  if (kind('list_value') !== undefined) return listValue(kind('list_value'), path, ctx);
  return null;
}

function mapEntries(input: Record<string, unknown>, path: string, each: (v: unknown, p: string) => ProtoValue | undefined): ProtoObject | undefined {
  const out: Record<string, ProtoValue> = {};
  let ok = true;
  for (const [k, v] of Object.entries(input)) {
    const r = each(v, keyPath(path, k));
    if (r === undefined) ok = false;
    else out[k] = r;
  }
  return ok ? out : undefined;
}

function collect(input: readonly unknown[], path: string, each: (v: unknown, p: string) => ProtoValue | undefined): ProtoValue[] | undefined {
  const out: ProtoValue[] = [];
  let ok = true;
  input.forEach((v, i) => {
    const r = each(v, `${path}[${i}]`);
    if (r === undefined) ok = false;
    else out.push(r);
  });
  return ok ? out : undefined;
}
