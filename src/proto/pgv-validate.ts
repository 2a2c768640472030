/**
 * Checks the protoc-gen-validate annotations Envoy puts on its API
 * (`[(validate.rules).string.min_len = 1]`, `option (validate.required) = true`
 * on oneofs...) against one normalized message, as Envoy does with
 * `MessageUtil::validate` before using any config.
 *
 * protobufjs 8 keeps each annotation in `parsedOptions` as a nested object
 * (`{"(validate.rules)": {"string": {"min_len": 1}}}`); `options` holds the
 * same flattened into dotted keys, which loses repeated lists, so only
 * `parsedOptions` is read.
 *
 * Like PGV, scalar rules also apply to an ABSENT field with implicit presence
 * (its default value is validated: a missing cluster `name` fails
 * `min_len: 1`), while oneof members and proto3 `optional` fields are only
 * checked when set. Supported: message.required, the numeric rules
 * (const/lt/lte/gt/gte/in/not_in, incl. exclusive ranges), string
 * const/len/min_len/max_len/min_bytes/max_bytes/prefix/suffix/contains/
 * not_contains/in/not_in/pattern/well_known_regex, bytes lengths, bool const,
 * enum const/in/not_in, duration/timestamp/any required, duration ranges,
 * any in/not_in, repeated min/max_items/unique/items, map min/max_pairs/keys/
 * values, ignore_empty, oneof required, message-level disabled/ignored. Not
 * checked: string formats (email, hostname, ip, uri, uuid), timestamp ranges,
 * message.skip (nested messages are checked as they are decoded).
 */
import * as protobuf from 'protobufjs/light';
import { fullNameOf } from './proto-types';
import { type ConfigIssue, type ProtoObject, type ProtoValue, isPlainObject, joinPath, keyPath } from './proto-types';
import { Invalid, durationFromParts, formatDuration } from './scalar-values';
import { wrappedScalar } from './well-known-json';

type Rules = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface FieldPlan {
  readonly field: protobuf.Field;
  readonly rules: Rules;
}

interface MessagePlan {
  readonly fields: readonly FieldPlan[];
  readonly requiredOneofs: readonly protobuf.OneOf[];
}

const HEADER_NAME_RE = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
// eslint-disable-next-line no-control-regex
const HEADER_VALUE_STRICT_RE = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
// eslint-disable-next-line no-control-regex
const HEADER_LAX_RE = /^[^\u0000\u000A\u000D]*$/;

const NUMERIC_KINDS = new Set(['float', 'double', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);

const plans = new WeakMap<protobuf.Type, MessagePlan | null>();

/**
 * Appends to `errors` every PGV violation of `value`, a normalized message of
 * `type` located at `path`. Fields in `failed` already have a decode error and
 * are skipped, so one mistake is not reported twice. Nested messages are not
 * visited: the decoder calls this for each message it builds.
 */
export function validateMessage(type: protobuf.Type, value: ProtoObject, path: string, failed: ReadonlySet<string>, errors: ConfigIssue[]): void {
  const plan = planOf(type);
  if (plan === null) return;
  const report = (p: string, message: string): void => {
    errors.push({ path: p, message });
  };
  for (const { field, rules } of plan.fields) {
    if (failed.has(field.name)) continue;
    const p = joinPath(path, field.name);
    const present = Object.hasOwn(value, field.name);
    const v = value[field.name];
    if (field.map) {
      checkMap(field, rules, present ? (v as ProtoObject) : {}, p, report);
    } else if (field.repeated) {
      checkRepeated(field, rules, present ? (v as readonly ProtoValue[]) : [], p, report);
    } else if (field.resolvedType instanceof protobuf.Type) {
      if (present) checkValue(field, rules, v!, p, report);
      else if (!field.partOf && isRequired(rules)) report(p, 'value is required');
    } else if (present || !field.partOf) {
      checkValue(field, rules, present ? v! : defaultOf(field), p, report);
    }
  }
  for (const oneof of plan.requiredOneofs) {
    if (!oneof.oneof.some((name) => Object.hasOwn(value, name) || failed.has(name))) {
      report(path, `one of ${oneof.oneof.map((n) => `"${n}"`).join(', ')} must be set (oneof ${oneof.name})`);
    }
  }
}

function isRequired(rules: Rules): boolean {
  return rules['message']?.required === true || rules['duration']?.required === true || rules['timestamp']?.required === true || rules['any']?.required === true;
}

// === Per-value checks ===

type Report = (path: string, message: string) => void;

/** Rules of one value: a singular field, a repeated element or a map key/value. */
function checkValue(field: protobuf.Field, rules: Rules, v: ProtoValue, p: string, report: Report): void {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    const name = fullNameOf(resolved).slice(1);
    if (name === 'google.protobuf.Duration' && rules['duration'] !== undefined && typeof v === 'number') {
      const r = durationRules(rules['duration']);
      checkNumber(v, r, p, report, (x) => formatDuration(Number(x)));
    } else if (name === 'google.protobuf.Any' && rules['any'] !== undefined && isPlainObject(v)) {
      checkIn(v['@type'], rules['any'], p, report, (x) => `"${String(x)}"`);
    } else {
      const scalar = wrappedScalar(resolved);
      if (scalar !== undefined) checkScalar(scalarRules(rules), v, p, report, undefined);
    }
    return;
  }
  checkScalar(scalarRules(rules), v, p, report, resolved instanceof protobuf.Enum ? resolved : undefined);
}

function checkScalar(entry: [string, Rules] | undefined, v: ProtoValue, p: string, report: Report, enumType: protobuf.Enum | undefined): void {
  if (entry === undefined) return;
  const [kind, r] = entry;
  if (kind === 'string' && typeof v === 'string') checkString(v, r, p, report);
  else if (kind === 'bytes' && Buffer.isBuffer(v)) checkLength(v.length, r, 'bytes', p, report, r['ignore_empty'] === true && v.length === 0);
  else if (kind === 'bool' && typeof v === 'boolean') {
    if (r['const'] !== undefined && v !== r['const']) report(p, `value must equal ${String(r['const'])}`);
  } else if (kind === 'enum' && typeof v === 'string' && enumType !== undefined) {
    const n = enumType.values[v];
    if (n !== undefined) checkNumber(n, r, p, report, (x) => enumType.valuesById[Number(x)] ?? String(x));
  } else if (NUMERIC_KINDS.has(kind) && (typeof v === 'number' || typeof v === 'string')) {
    if (!(r['ignore_empty'] === true && (v === 0 || v === '0'))) checkNumber(v, r, p, report, String);
  }
}

function checkString(v: string, r: Rules, p: string, report: Report): void {
  if (r['ignore_empty'] === true && v === '') return;
  if (r['const'] !== undefined && v !== r['const']) report(p, `value must equal "${r['const']}"`);
  // Lengths only when a rule needs them (most strings carry just min_len: 1 or a well-known rule).
  if (r['len'] !== undefined || r['min_len'] !== undefined || r['max_len'] !== undefined) {
    const chars = codePoints(v);
    if (r['len'] !== undefined && chars !== Number(r['len'])) report(p, `value length must be ${r['len']} characters`);
    if (r['min_len'] !== undefined && chars < Number(r['min_len'])) report(p, `value length must be at least ${r['min_len']} characters`);
    if (r['max_len'] !== undefined && chars > Number(r['max_len'])) report(p, `value length must be at most ${r['max_len']} characters`);
  }
  if (r['len_bytes'] !== undefined || r['min_bytes'] !== undefined || r['max_bytes'] !== undefined) {
    const bytes = Buffer.byteLength(v);
    if (r['len_bytes'] !== undefined && bytes !== Number(r['len_bytes'])) report(p, `value length must be ${r['len_bytes']} bytes`);
    if (r['min_bytes'] !== undefined && bytes < Number(r['min_bytes'])) report(p, `value length must be at least ${r['min_bytes']} bytes`);
    if (r['max_bytes'] !== undefined && bytes > Number(r['max_bytes'])) report(p, `value length must be at most ${r['max_bytes']} bytes`);
  }
  if (typeof r['prefix'] === 'string' && !v.startsWith(r['prefix'])) report(p, `value does not have prefix "${r['prefix']}"`);
  if (typeof r['suffix'] === 'string' && !v.endsWith(r['suffix'])) report(p, `value does not have suffix "${r['suffix']}"`);
  if (typeof r['contains'] === 'string' && !v.includes(r['contains'])) report(p, `value does not contain substring "${r['contains']}"`);
  if (typeof r['not_contains'] === 'string' && v.includes(r['not_contains'])) report(p, `value contains substring "${r['not_contains']}"`);
  checkIn(v, r, p, report, (x) => JSON.stringify(x));
  if (typeof r['pattern'] === 'string') {
    const re = compilePattern(r['pattern']);
    if (re !== undefined && !re.test(v)) report(p, `value does not match regex pattern "${r['pattern']}"`);
  }
  const wk = r['well_known_regex'];
  if (wk !== undefined) {
    // `strict` defaults to true; lax mode only forbids NUL, CR and LF.
    const strict = r['strict'] !== false;
    const isName = wk === 'HTTP_HEADER_NAME' || wk === 1;
    const re = !strict ? HEADER_LAX_RE : isName ? HEADER_NAME_RE : HEADER_VALUE_STRICT_RE;
    if ((isName || wk === 'HTTP_HEADER_VALUE' || wk === 2) && !re.test(v)) {
      report(p, `value must be a valid HTTP header ${isName ? 'name' : 'value'}`);
    }
  }
}

/** Unicode code points of `v` (PGV's string lengths); UTF-16 units unless there is a surrogate. */
function codePoints(v: string): number {
  return SURROGATE_RE.test(v) ? [...v].length : v.length;
}

const SURROGATE_RE = /[\uD800-\uDFFF]/;

function checkLength(n: number, r: Rules, unit: string, p: string, report: Report, skip: boolean): void {
  if (skip) return;
  if (r['len'] !== undefined && n !== Number(r['len'])) report(p, `value length must be ${r['len']} ${unit}`);
  if (r['min_len'] !== undefined && n < Number(r['min_len'])) report(p, `value length must be at least ${r['min_len']} ${unit}`);
  if (r['max_len'] !== undefined && n > Number(r['max_len'])) report(p, `value length must be at most ${r['max_len']} ${unit}`);
}

/**
 * Numeric rules, PGV semantics: when the lower bound exceeds the upper one
 * (e.g. gt: 10, lt: 5) the valid set is the OUTSIDE of the range. 64-bit
 * values may be decimal strings, so comparisons go through BigInt then.
 */
function checkNumber(v: number | string, r: Rules, p: string, report: Report, show: (x: unknown) => string): void {
  const x = comparable(v);
  if (r['const'] !== undefined && x != comparable(r['const'])) report(p, `value must equal ${show(r['const'])}`);
  const lowKey = r['gt'] !== undefined ? 'gt' : r['gte'] !== undefined ? 'gte' : undefined;
  const highKey = r['lt'] !== undefined ? 'lt' : r['lte'] !== undefined ? 'lte' : undefined;
  const low = lowKey === undefined ? undefined : comparable(r[lowKey]);
  const high = highKey === undefined ? undefined : comparable(r[highKey]);
  const aboveLow = low === undefined || (lowKey === 'gt' ? x > low : x >= low);
  const belowHigh = high === undefined || (highKey === 'lt' ? x < high : x <= high);
  const words = (key: string): string =>
    ({ gt: 'greater than', gte: 'greater than or equal to', lt: 'less than', lte: 'less than or equal to' })[key]!;
  if (low !== undefined && high !== undefined && low > high) {
    if (!aboveLow && !belowHigh) report(p, `value must be ${words(lowKey!)} ${show(r[lowKey!])} or ${words(highKey!)} ${show(r[highKey!])}`);
  } else if (!aboveLow || !belowHigh) {
    const parts = [lowKey, highKey].filter((k): k is string => k !== undefined).map((k) => `${words(k)} ${show(r[k])}`);
    report(p, `value must be ${parts.join(' and ')}`);
  }
  const list = (key: string): unknown[] | undefined => (Array.isArray(r[key]) ? r[key] : r[key] === undefined ? undefined : [r[key]]);
  const inList = list('in');
  if (inList !== undefined && !inList.some((y) => comparable(y) == x)) report(p, `value must be in list [${inList.map(show).join(', ')}]`);
  const notIn = list('not_in');
  if (notIn !== undefined && notIn.some((y) => comparable(y) == x)) report(p, `value must not be in list [${notIn.map(show).join(', ')}]`);
}

function checkIn(v: unknown, r: Rules, p: string, report: Report, show: (x: unknown) => string): void {
  const list = (key: string): unknown[] | undefined => (Array.isArray(r[key]) ? r[key] : r[key] === undefined ? undefined : [r[key]]);
  const inList = list('in');
  if (inList !== undefined && !inList.includes(v)) report(p, `value must be in list [${inList.map(show).join(', ')}]`);
  const notIn = list('not_in');
  if (notIn !== undefined && notIn.includes(v)) report(p, `value must not be in list [${notIn.map(show).join(', ')}]`);
}

function comparable(x: unknown): number | bigint {
  if (typeof x === 'number' || typeof x === 'bigint') return x;
  if (typeof x === 'string' && /^-?\d+$/.test(x)) return BigInt(x);
  if (x !== null && typeof x === 'object' && 'toString' in x) return comparable(String(x)); // a protobufjs Long
  return Number(x);
}

const patterns = new Map<string, RegExp | undefined>();

/**
 * PGV patterns are RE2; the common subset compiles as JavaScript. A pattern
 * that does not compile is skipped rather than failing every config.
 */
function compilePattern(pattern: string): RegExp | undefined {
  if (!patterns.has(pattern)) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(pattern, 'u');
    } catch {
      re = undefined;
    }
    patterns.set(pattern, re);
  }
  return patterns.get(pattern);
}

// === Collections ===

function checkRepeated(field: protobuf.Field, rules: Rules, items: readonly ProtoValue[], p: string, report: Report): void {
  const r: Rules | undefined = rules['repeated'];
  if (r === undefined || (r['ignore_empty'] === true && items.length === 0)) return;
  if (r['min_items'] !== undefined && items.length < Number(r['min_items'])) report(p, `value must contain at least ${r['min_items']} item(s)`);
  if (r['max_items'] !== undefined && items.length > Number(r['max_items'])) report(p, `value must contain no more than ${r['max_items']} item(s)`);
  if (r['unique'] === true) {
    const seen = new Set<string>();
    for (const item of items) {
      const key = JSON.stringify(item);
      if (seen.has(key)) {
        report(p, 'repeated value must contain unique items');
        break;
      }
      seen.add(key);
    }
  }
  if (isPlainObject(r['items'])) items.forEach((item, i) => checkValue(field, r['items'], item, `${p}[${i}]`, report));
}

function checkMap(field: protobuf.Field, rules: Rules, entries: ProtoObject, p: string, report: Report): void {
  const r: Rules | undefined = rules['map'];
  if (r === undefined) return;
  const keys = Object.keys(entries);
  if (r['ignore_empty'] === true && keys.length === 0) return;
  if (r['min_pairs'] !== undefined && keys.length < Number(r['min_pairs'])) report(p, `value must contain at least ${r['min_pairs']} pair(s)`);
  if (r['max_pairs'] !== undefined && keys.length > Number(r['max_pairs'])) report(p, `value must contain no more than ${r['max_pairs']} pair(s)`);
  const keyType = (field as unknown as protobuf.MapField).keyType;
  for (const k of keys) {
    if (isPlainObject(r['keys'])) checkScalar(scalarRules(r['keys']), keyType === 'string' ? k : k === 'true' || k === 'false' ? k === 'true' : k, keyPath(p, k), report, undefined);
    if (isPlainObject(r['values'])) checkValue(field, r['values'], entries[k]!, keyPath(p, k), report);
  }
}

// === Plans ===

function planOf(type: protobuf.Type): MessagePlan | null {
  let plan = plans.get(type);
  if (plan === undefined) {
    plan = buildPlan(type);
    plans.set(type, plan);
  }
  return plan;
}

function buildPlan(type: protobuf.Type): MessagePlan | null {
  const msgOpts = mergedOptions(type.parsedOptions);
  if (msgOpts['(validate.disabled)'] === true || msgOpts['(validate.ignored)'] === true) return null;
  const fields: FieldPlan[] = [];
  for (const field of type.fieldsArray) {
    const rules = mergedOptions(field.parsedOptions)['(validate.rules)'];
    if (isPlainObject(rules)) fields.push({ field: field.resolve(), rules });
  }
  const requiredOneofs = type.oneofsArray.filter((o) => mergedOptions(o.parsedOptions)['(validate.required)'] === true);
  return fields.length === 0 && requiredOneofs.length === 0 ? null : { fields, requiredOneofs };
}

/** parsedOptions is a list of one-key objects; the same option may appear in several (a.b = 1, a.c = 2). */
function mergedOptions(list: readonly Record<string, unknown>[] | undefined): Rules {
  const out: Rules = {};
  for (const entry of list ?? []) deepMerge(out, entry);
  return out;
}

function deepMerge(into: Rules, from: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(from)) {
    if (isPlainObject(v) && isPlainObject(into[k])) deepMerge(into[k], v);
    else into[k] = isPlainObject(v) ? structuredClone(v) : v;
  }
}

// Rules objects belong to the descriptor and never change: what is derived from one is derived once
// (a 100-service bootstrap checks thousands of values against a few hundred rules objects).
const scalarRulesOf = new WeakMap<Rules, [string, Rules] | null>();
const durationRulesOf = new WeakMap<Rules, Rules>();

/** The one scalar-kind entry of a rules object (`{string: {...}}` → ['string', {...}]). */
function scalarRules(rules: Rules): [string, Rules] | undefined {
  let entry = scalarRulesOf.get(rules);
  if (entry === undefined) {
    entry = null;
    for (const [k, v] of Object.entries(rules)) {
      if (k !== 'message' && k !== 'repeated' && k !== 'map' && isPlainObject(v)) {
        entry = [k, v];
        break;
      }
    }
    scalarRulesOf.set(rules, entry);
  }
  return entry ?? undefined;
}

/** Duration bounds arrive as {seconds, nanos} objects; they are compared in milliseconds. */
function durationRules(r: Rules): Rules {
  let ms = durationRulesOf.get(r);
  if (ms === undefined) durationRulesOf.set(r, (ms = durationRulesInMs(r)));
  return ms;
}

function durationRulesInMs(r: Rules): Rules {
  const out: Rules = {};
  for (const [k, v] of Object.entries(r)) {
    if (k === 'required') continue;
    const toMs = (x: unknown): unknown => {
      const ms = isPlainObject(x) ? durationFromParts(x) : new Invalid('bad bound');
      return ms instanceof Invalid ? undefined : ms;
    };
    out[k] = Array.isArray(v) ? v.map(toMs) : toMs(v);
  }
  return out;
}

function defaultOf(field: protobuf.Field): ProtoValue {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return resolved.valuesById[0] ?? Object.keys(resolved.values)[0] ?? '';
  if (field.type === 'string') return '';
  if (field.type === 'bool') return false;
  if (field.type === 'bytes') return Buffer.alloc(0);
  return 0;
}
