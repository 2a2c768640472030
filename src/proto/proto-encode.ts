/**
 * The inverse of the decoders: normalized form (see `proto-json.ts`) →
 * canonical proto3 JSON, as Envoy's admin `/config_dump` prints it, and →
 * binary protobuf for tests and the fake control plane.
 *
 * The input must be a value the decoders produced (or one built by the same
 * rules). A value that breaks them is a programming error and throws a
 * TypeError; config problems never reach this module.
 *
 * Binary has no room for an explicitly set default of an implicit-presence
 * scalar (`priority: 0`, an enum at its zero value): such fields vanish on a
 * binary round trip, exactly as they do between Envoy and a control plane.
 */
import * as protobuf from 'protobufjs/light';
import { lookupByTypeUrl } from './envoy-protos';
import { type BinaryAny, type ProtoObject, type ProtoValue, isPlainObject } from './proto-types';
import { durationToParts, formatDuration, is64Bit, timestampToParts } from './scalar-values';
import { valueKindKey, wellKnownNormalizer, wrappedScalar } from './well-known-json';

// === proto3 JSON ===

/**
 * Renders a normalized message as canonical proto3 JSON: snake_case field
 * names (Envoy's `/config_dump` style) in field-number order, durations as
 * `"0.250s"`, 64-bit integers as strings, bytes as base64, enums by name, Any
 * as `{"@type", ...}`. Unresolved Anys are re-emitted from `@json`, or as
 * `{"@type", "value": <base64 of @bytes>}`.
 */
export function toProtoJson(type: protobuf.Type, value: ProtoObject): unknown {
  const isWkt = wellKnownNormalizer(type) !== undefined;
  const bare = !isWkt || type.fullName === '.google.protobuf.Any' || type.fullName === '.google.protobuf.Struct';
  return messageToJson(type, bare ? value : value['value']!);
}

function messageToJson(type: protobuf.Type, v: ProtoValue): unknown {
  switch (type.fullName.slice(1)) {
    case 'google.protobuf.Any':
      return anyToJson(asObject(v, type));
    case 'google.protobuf.Duration':
      return formatDuration(v as number);
    case 'google.protobuf.Timestamp':
      return v;
    case 'google.protobuf.FieldMask':
      return (v as string[]).map((p) => p.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())).join(',');
    case 'google.protobuf.Struct':
    case 'google.protobuf.Value':
    case 'google.protobuf.ListValue':
      return structuredClone(v);
  }
  const scalar = wrappedScalar(type);
  if (scalar !== undefined) return scalarToJson(scalar, v);
  const obj = asObject(v, type);
  const out: Record<string, unknown> = {};
  for (const field of fieldsByNumber(type, obj)) {
    const fv = obj[field.name]!;
    if (field.map) {
      const m: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(asObject(fv, type))) m[k] = singleToJson(field, x);
      out[field.name] = m;
    } else if (field.repeated) {
      out[field.name] = (fv as ProtoValue[]).map((x) => singleToJson(field, x));
    } else {
      out[field.name] = singleToJson(field, fv);
    }
  }
  return out;
}

function singleToJson(field: protobuf.Field, v: ProtoValue): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return messageToJson(resolved, v);
  if (resolved instanceof protobuf.Enum) return v;
  return scalarToJson(field.type, v);
}

function scalarToJson(scalar: string, v: ProtoValue): unknown {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (is64Bit(scalar)) return String(v);
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v); // "NaN", "Infinity", "-Infinity"
  return v;
}

function anyToJson(v: ProtoObject): unknown {
  const { '@type': url, '@unresolved': unresolved, '@json': json, '@bytes': bytes, ...fields } = v;
  if (typeof url !== 'string') throw new TypeError('normalized Any without "@type"');
  if (unresolved === true) {
    return json !== undefined ? { '@type': url, ...(json as ProtoObject) } : { '@type': url, value: Buffer.from(bytes as Buffer).toString('base64') };
  }
  const type = lookupByTypeUrl(url);
  if (type === undefined) throw new TypeError(`normalized Any has unknown type ${url} but no "@unresolved"`);
  if (wellKnownNormalizer(type) !== undefined) return { '@type': url, value: messageToJson(type, fields['value']!) };
  return { '@type': url, ...(messageToJson(type, fields) as object) };
}

// === Binary ===

/**
 * Serializes a normalized message of the type named by `typeUrl` into a
 * binary Any. An `@type` key in `value` is ignored (so a decoded Any can be
 * passed back as is). Throws for unknown type URLs and unresolved nested Anys
 * that came from JSON (they have no bytes).
 */
export function encodeBinaryAny(typeUrl: string, value: ProtoObject): BinaryAny {
  const type = lookupByTypeUrl(typeUrl);
  if (type === undefined) throw new TypeError(`cannot encode unknown type ${typeUrl}`);
  const { '@type': _ignored, ...fields } = value;
  const isWkt = wellKnownNormalizer(type) !== undefined;
  const bare = !isWkt || type.fullName === '.google.protobuf.Any' || type.fullName === '.google.protobuf.Struct';
  return { type_url: typeUrl, value: encodeMessage(type, bare ? fields : fields['value']!) };
}

/** Serializes a normalized message of `type` (the form `decodeBinary` returns). */
export function encodeBinary(type: protobuf.Type, value: ProtoObject): Uint8Array {
  return encodeMessage(type, value);
}

function encodeMessage(type: protobuf.Type, v: ProtoValue): Uint8Array {
  return type.encode(type.fromObject(toObjectForm(type, v) as Record<string, unknown>)).finish();
}

/** Normalized → the object form protobufjs' `fromObject` reads. */
function toObjectForm(type: protobuf.Type, v: ProtoValue): unknown {
  switch (type.fullName.slice(1)) {
    case 'google.protobuf.Any': {
      const obj = asObject(v, type);
      const url = obj['@type'] as string;
      if (obj['@unresolved'] === true) {
        if (!Buffer.isBuffer(obj['@bytes'])) throw new TypeError(`cannot encode unresolved Any ${url} decoded from JSON`);
        return { type_url: url, value: obj['@bytes'] };
      }
      return { type_url: url, value: encodeBinaryAny(url, obj).value };
    }
    case 'google.protobuf.Duration':
      return durationToParts(v as number);
    case 'google.protobuf.Timestamp':
      return timestampToParts(v as string);
    case 'google.protobuf.FieldMask':
      return { paths: v };
    case 'google.protobuf.Struct':
      return { fields: Object.fromEntries(Object.entries(asObject(v, type)).map(([k, x]) => [k, valueObjectForm(x)])) };
    case 'google.protobuf.Value':
      return valueObjectForm(v);
    case 'google.protobuf.ListValue':
      return { values: (v as ProtoValue[]).map(valueObjectForm) };
  }
  if (wrappedScalar(type) !== undefined) return { value: v };
  const obj = asObject(v, type);
  const out: Record<string, unknown> = {};
  for (const field of fieldsByNumber(type, obj)) {
    const fv = obj[field.name]!;
    const one = (x: ProtoValue): unknown => {
      const resolved = field.resolvedType;
      if (resolved instanceof protobuf.Type) return toObjectForm(resolved, x);
      if (resolved instanceof protobuf.Enum && x === null) return 0; // google.protobuf.NullValue
      return x;
    };
    if (field.map) out[field.name] = Object.fromEntries(Object.entries(asObject(fv, type)).map(([k, x]) => [k, one(x)]));
    else if (field.repeated) out[field.name] = (fv as ProtoValue[]).map(one);
    else out[field.name] = one(fv);
  }
  return out;
}

function valueObjectForm(v: ProtoValue): unknown {
  if (v === null) return { [valueKindKey('null_value')]: 0 };
  if (typeof v === 'number') return { [valueKindKey('number_value')]: v };
  if (typeof v === 'string') return { [valueKindKey('string_value')]: v };
  if (typeof v === 'boolean') return { [valueKindKey('bool_value')]: v };
  if (Array.isArray(v)) return { [valueKindKey('list_value')]: { values: v.map(valueObjectForm) } };
  if (isPlainObject(v)) {
    return { [valueKindKey('struct_value')]: { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, valueObjectForm(x)])) } };
  }
  throw new TypeError('google.protobuf.Value cannot hold bytes');
}

// === Helpers ===

function asObject(v: ProtoValue, type: protobuf.Type): ProtoObject {
  if (!isPlainObject(v)) throw new TypeError(`expected a normalized ${type.fullName.slice(1)} object`);
  return v as ProtoObject;
}

/** The fields of `type` present in `obj`, in field-number order; rejects stray keys. */
function fieldsByNumber(type: protobuf.Type, obj: ProtoObject): protobuf.Field[] {
  const present: protobuf.Field[] = [];
  for (const key of Object.keys(obj)) {
    const field = type.fields[key];
    if (field === undefined) throw new TypeError(`${type.fullName.slice(1)} has no field "${key}"`);
    present.push(field.resolve());
  }
  return present.sort((a, b) => a.id - b.id);
}
