/**
 * Shapes shared by the proto decoders and encoders. The normalized form itself
 * is described in the header of `proto-json.ts`.
 */

/** A value of the normalized form: what a decoded proto field can hold. */
export type ProtoValue =
  | string
  | number
  | boolean
  | null
  | Buffer
  | readonly ProtoValue[]
  | ProtoObject;

/** A decoded message (or Struct): plain object keyed by snake_case field names. */
export interface ProtoObject {
  readonly [field: string]: ProtoValue;
}

/** One problem found while decoding a config or a resource. */
export interface ConfigIssue {
  /**
   * Where: snake_case proto field names joined by '.', array indexes in
   * brackets and map keys as `["key"]`, e.g.
   * `static_resources.clusters[0].connect_timeout`. Empty for the root.
   */
  readonly path: string;
  /** What, without the path: `invalid duration "abc": expected a string like "1.5s"`. */
  readonly message: string;
}

/** Outcome of a decode: the value is usable only when `errors` is empty. */
export interface DecodeResult {
  /** The normalized message; partial (failed fields left out) when there are errors. */
  readonly value: ProtoObject;
  /** Problems that make the input invalid for Envoy. */
  readonly errors: ConfigIssue[];
  /** Problems tolerated by the options (e.g. unknown fields with `allowUnknownFields`). */
  readonly warnings: ConfigIssue[];
}

/** Options of `decodeJson` / `decodeBinary`. */
export interface DecodeOptions {
  /** Path prefix of every issue, e.g. `resources[2]`. Default: '' (the root). */
  readonly path?: string;
  /**
   * Report unknown JSON fields as warnings instead of errors (Envoy's
   * `--ignore-unknown-fields` / `--reject-unknown-dynamic-fields=false`).
   * Default: false.
   */
  readonly allowUnknownFields?: boolean;
}

/** The binary `google.protobuf.Any` of an xDS response. */
export interface BinaryAny {
  /** `type.googleapis.com/<full.message.name>`. */
  readonly type_url: string;
  /** The serialized message. */
  readonly value: Uint8Array;
}

/** Renders an issue as `path: message` (just `message` at the root). */
export function formatIssue(issue: ConfigIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}

/** Appends a field name to a path. */
export function joinPath(path: string, field: string): string {
  return path === '' ? field : `${path}.${field}`;
}

/** Appends a map key to a path, quoted so keys with dots stay unambiguous. */
export function keyPath(path: string, key: string): string {
  return `${path}[${JSON.stringify(key)}]`;
}

/** A short name for the JSON type of a value, used in error messages. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return 'bytes';
  return typeof value;
}

/** True for plain (non-array, non-null, non-binary) objects. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

const NAME_CACHE = new WeakMap<object, string>();

/**
 * `type.fullName` with its leading dot, cached: protobufjs rebuilds the dotted name on every
 * read, which profiles showed as ~30% of decoding a large xDS response.
 */
export function fullNameOf(type: { readonly fullName: string }): string {
  let name = NAME_CACHE.get(type);
  if (name === undefined) {
    name = type.fullName;
    NAME_CACHE.set(type, name);
  }
  return name;
}
