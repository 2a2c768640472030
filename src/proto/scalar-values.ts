/**
 * Conversions of single proto values between their JSON / protobufjs forms
 * and the normalized form (see `proto-json.ts`), plus the text forms of
 * Duration and Timestamp. Every parser returns either the value or an
 * {@link Invalid} carrying the message; nothing here throws on bad input.
 */

/** A failed conversion. */
export class Invalid {
  /** @param message what the issue will say, without the path */
  constructor(readonly message: string) {}
}

/** Largest seconds value of a google.protobuf.Duration (10,000 years). */
const MAX_DURATION_SECONDS = 315_576_000_000;
/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the Timestamp range, in Unix seconds. */
const MIN_TIMESTAMP_SECONDS = -62_135_596_800;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799;

const INT_RANGES: Record<string, readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

const FLOAT_MAX = 3.4028234663852886e38;
const DECIMAL_INT_RE = /^-?\d+$/;
const NUMBER_RE = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** True for the 64-bit integer types, whose normalized values may be strings. */
export function is64Bit(protoType: string): boolean {
  return protoType.endsWith('64') && protoType !== 'double';
}

/**
 * Converts a scalar field value (`string`, `bool`, `bytes`, the integer and
 * floating-point types). `binary` means the value came from protobufjs
 * (bytes as Uint8Array) rather than from proto3 JSON (bytes as base64).
 */
export function parseScalar(protoType: string, raw: unknown, binary: boolean): string | number | boolean | Buffer | Invalid {
  switch (protoType) {
    case 'string':
      return typeof raw === 'string' ? raw : expected('a string', protoType, raw);
    case 'bool':
      return typeof raw === 'boolean' ? raw : expected('true or false', protoType, raw);
    case 'bytes':
      return parseBytes(raw, binary);
    case 'double':
    case 'float':
      return parseFloating(protoType, raw);
    default:
      if (INT_RANGES[protoType] !== undefined) return parseInteger(protoType, raw);
      return new Invalid(`unsupported scalar type ${protoType}`);
  }
}

/**
 * Integers. Proto3 JSON allows numbers and decimal strings. 64-bit values
 * become numbers when they fit `Number.MAX_SAFE_INTEGER` and decimal strings
 * otherwise, so no digit is ever lost.
 */
function parseInteger(protoType: string, raw: unknown): number | string | Invalid {
  let big: bigint;
  if (typeof raw === 'bigint') big = raw;
  else if (typeof raw === 'number' && Number.isInteger(raw)) big = BigInt(raw);
  else if (typeof raw === 'string' && DECIMAL_INT_RE.test(raw.trim())) big = BigInt(raw.trim());
  else if (typeof raw === 'string' && NUMBER_RE.test(raw.trim()) && Number.isInteger(Number(raw))) big = BigInt(Number(raw));
  else return expected('an integer', protoType, raw);
  const [min, max] = INT_RANGES[protoType]!;
  if (big < min || big > max) return new Invalid(`value ${big} is out of range for ${protoType}`);
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big.toString();
}

function parseFloating(protoType: string, raw: unknown): number | Invalid {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (raw === 'NaN') n = NaN;
  else if (raw === 'Infinity') n = Infinity;
  else if (raw === '-Infinity') n = -Infinity;
  else if (typeof raw === 'string' && NUMBER_RE.test(raw.trim())) n = Number(raw);
  else return expected('a number', protoType, raw);
  if (protoType === 'float' && Number.isFinite(n) && Math.abs(n) > FLOAT_MAX) {
    return new Invalid(`value ${n} is out of range for float`);
  }
  return n;
}

function parseBytes(raw: unknown, binary: boolean): Buffer | Invalid {
  if (raw instanceof Uint8Array) return Buffer.from(raw);
  if (binary || typeof raw !== 'string') return expected('a base64 string', 'bytes', raw);
  const s = raw.trim();
  // Node's decoder silently drops bad characters, so the alphabet (standard
  // or URL-safe, padding optional) is checked first.
  if (!BASE64_RE.test(s) || s.replace(/=+$/, '').length % 4 === 1) return new Invalid(`invalid base64 in bytes field: "${preview(raw)}"`);
  return Buffer.from(s, 'base64');
}

/** The `expected X for T field, got K` message used for every JSON type mismatch. */
export function expected(what: string, protoType: string, raw: unknown): Invalid {
  const got = typeof raw === 'string' ? `"${preview(raw)}"` : raw === null ? 'null' : Array.isArray(raw) ? 'array' : typeof raw;
  return new Invalid(`expected ${what} for ${protoType} field, got ${got}`);
}

/** Truncates long strings quoted in messages. */
export function preview(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

// === Duration ===

const DURATION_RE = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/**
 * Parses the proto3 JSON duration form (`"1.5s"`, `"-0.000001s"`) into
 * milliseconds. The value is `seconds*1000 + nanos/1e6`, the same formula
 * {@link durationFromParts} uses, so both input forms give identical numbers.
 */
export function parseDurationString(raw: string): number | Invalid {
  const m = DURATION_RE.exec(raw.trim());
  if (m === null) return new Invalid(`invalid duration "${preview(raw)}": expected a string like "1.5s"`);
  const seconds = Number(m[2]);
  if (seconds > MAX_DURATION_SECONDS) return new Invalid(`duration "${preview(raw)}" is out of range (at most ${MAX_DURATION_SECONDS}s)`);
  const nanos = m[3] === undefined ? 0 : Number(m[3].padEnd(9, '0'));
  const ms = seconds * 1000 + nanos / 1e6;
  return m[1] === '-' && ms !== 0 ? -ms : ms;
}

/**
 * Milliseconds from the protobufjs form `{seconds, nanos}` (seconds may be a
 * decimal string, as `toObject({longs: String})` gives it).
 */
export function durationFromParts(raw: Record<string, unknown>): number | Invalid {
  const parts = secondsAndNanos(raw, 'duration');
  if (parts instanceof Invalid) return parts;
  const { seconds, nanos } = parts;
  if (Math.abs(seconds) > MAX_DURATION_SECONDS) return new Invalid(`duration seconds ${seconds} is out of range`);
  if ((seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) return new Invalid('duration seconds and nanos must have the same sign');
  const ms = Math.abs(seconds) * 1000 + Math.abs(nanos) / 1e6;
  return (seconds < 0 || nanos < 0) && ms !== 0 ? -ms : ms;
}

/** Splits milliseconds into the `{seconds, nanos}` pair protobuf stores (same sign). */
export function durationToParts(ms: number): { seconds: number; nanos: number } {
  const abs = Math.abs(ms);
  let seconds = Math.floor(abs / 1000);
  let nanos = Math.round((abs - seconds * 1000) * 1e6);
  if (nanos >= 1e9) {
    seconds += 1;
    nanos -= 1e9;
  }
  return ms < 0 ? { seconds: -seconds, nanos: -nanos } : { seconds, nanos };
}

/**
 * Milliseconds → the canonical proto3 JSON string, with 0, 3, 6 or 9
 * fractional digits as protobuf's printer (and so Envoy's `/config_dump`)
 * writes them: `"5s"`, `"0.250s"`, `"0.000001s"`.
 */
export function formatDuration(ms: number): string {
  const { seconds, nanos } = durationToParts(ms);
  const sign = seconds < 0 || nanos < 0 ? '-' : '';
  return `${sign}${Math.abs(seconds)}${formatNanos(Math.abs(nanos))}s`;
}

function formatNanos(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1e6 === 0) return `.${String(nanos / 1e6).padStart(3, '0')}`;
  if (nanos % 1e3 === 0) return `.${String(nanos / 1e3).padStart(6, '0')}`;
  return `.${String(nanos).padStart(9, '0')}`;
}

function secondsAndNanos(raw: Record<string, unknown>, what: string): { seconds: number; nanos: number } | Invalid {
  for (const key of Object.keys(raw)) {
    if (key !== 'seconds' && key !== 'nanos') return new Invalid(`unknown field "${key}" in ${what} object (expected "seconds" and "nanos")`);
  }
  const seconds = parseInteger('int64', raw['seconds'] ?? 0);
  if (seconds instanceof Invalid) return seconds;
  const nanos = parseInteger('int32', raw['nanos'] ?? 0);
  if (nanos instanceof Invalid) return nanos;
  if (typeof seconds !== 'number' || typeof nanos !== 'number') return new Invalid(`${what} seconds out of range`);
  if (Math.abs(nanos) > 999_999_999) return new Invalid(`${what} nanos ${nanos} is out of range`);
  return { seconds, nanos };
}

// === Timestamp ===

const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * Validates an RFC 3339 timestamp and returns it in the canonical UTC form
 * (`2024-05-01T10:00:00.500Z`, fraction digits 0/3/6/9), so equal instants
 * compare equal as strings.
 */
export function parseTimestampString(raw: string): string | Invalid {
  const m = TIMESTAMP_RE.exec(raw.trim());
  const bad = new Invalid(`invalid timestamp "${preview(raw)}": expected RFC 3339 like "2024-01-02T03:04:05Z"`);
  if (m === null) return bad;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  // Date rolls over invalid parts (Feb 30 → Mar 2); a mismatch means invalid input.
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return bad;
  const offset = m[8] === undefined ? 0 : (Number(m[9]) * 60 + Number(m[10])) * 60 * (m[8] === '-' ? 1 : -1);
  const nanos = m[7] === undefined ? 0 : Number(m[7].padEnd(9, '0'));
  return formatTimestamp(date.getTime() / 1000 + offset, nanos) ?? new Invalid(`timestamp "${preview(raw)}" is out of range`);
}

/** The canonical string of `{seconds, nanos}` (protobufjs form of a Timestamp). */
export function timestampFromParts(raw: Record<string, unknown>): string | Invalid {
  const parts = secondsAndNanos(raw, 'timestamp');
  if (parts instanceof Invalid) return parts;
  if (parts.nanos < 0) return new Invalid('timestamp nanos must not be negative');
  return formatTimestamp(parts.seconds, parts.nanos) ?? new Invalid(`timestamp seconds ${parts.seconds} is out of range`);
}

/** Canonical timestamp string → `{seconds, nanos}` (the string must come from this module). */
export function timestampToParts(canonical: string): { seconds: number; nanos: number } {
  const dot = canonical.indexOf('.');
  const whole = dot === -1 ? canonical.slice(0, -1) : canonical.slice(0, dot);
  const frac = dot === -1 ? '' : canonical.slice(dot + 1, -1);
  return { seconds: Date.parse(`${whole}Z`) / 1000, nanos: Number(frac.padEnd(9, '0')) };
}

function formatTimestamp(seconds: number, nanos: number): string | undefined {
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) return undefined;
  const whole = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${whole}${formatNanos(nanos)}Z`;
}
