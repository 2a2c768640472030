/**
 * Reads a bootstrap (or any config) file into plain JSON and maps decode
 * issues back to `file:line:col`. Format follows Envoy's
 * `MessageUtil::loadFromFile`: by extension, `.json` is JSON, `.pb` and
 * `.pb_text` are binary / text protobuf (not supported here), everything
 * else (`.yaml`, `.yml`, no extension...) is read as YAML, which also
 * accepts JSON.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Document, LineCounter } from 'yaml';
import { lazyRequire } from '../common/lazy-require';

/** The YAML parser, loaded for the first YAML text or error position (Istio's bootstraps are JSON). */
const yaml = lazyRequire<typeof import('yaml')>('yaml');

/** The two text formats a config can be written in. */
export type ConfigFormat = 'yaml' | 'json';

/**
 * A parsed config or one error line. On success: `json` holds plain JSON
 * values (input of `decodeJson`), `text` the source (for `locateField`) and
 * `format` how it was read.
 */
export type ConfigText =
  | { readonly json: unknown; readonly text: string; readonly format: ConfigFormat }
  | { readonly error: string };

/** A position in a config text. */
export interface SourcePosition {
  /** 1-based line number. */
  readonly line: number;
  /** 1-based column, counted in UTF-16 code units as the `yaml` library does. */
  readonly col: number;
}

/** Documents parsed here keep their line counter, so `locateField` can take them. */
const lineCounters = new WeakMap<Document, LineCounter>();
let lastParsed: { text: string; doc: Document; lines: LineCounter } | undefined;

/**
 * Reads and parses `file`. Never throws: an unreadable file, an unsupported
 * format or a syntax error gives `{ error }`, already prefixed with the file
 * name (and `:line:col` for syntax errors).
 */
export function readConfigFile(file: string): ConfigText {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.pb') return { error: `${file}: binary protobuf bootstrap files (.pb) are not supported; use YAML or JSON` };
  if (ext === '.pb_text') return { error: `${file}: text protobuf bootstrap files (.pb_text) are not supported; use YAML or JSON` };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { error: `${file}: cannot read the file: ${e.message}` };
  }
  return parseConfigText(text, ext === '.json' ? 'json' : 'yaml', file);
}

/**
 * Parses config text. `sourceName` prefixes error messages (a file name or
 * `--config-yaml`). YAML must hold exactly one document; duplicate keys are
 * errors (as in Envoy), anchors and `<<` merge keys are resolved.
 */
export function parseConfigText(text: string, format: ConfigFormat, sourceName: string): ConfigText {
  if (text.trim() === '') return { error: `${sourceName}: the configuration is empty` };
  return format === 'json' ? parseJson(text, sourceName) : parseYaml(text, sourceName);
}

function parseJson(text: string, sourceName: string): ConfigText {
  try {
    return { json: JSON.parse(text), text, format: 'json' };
  } catch (err) {
    // V8's messages rarely carry a position, so a small scanner finds it.
    const found = findJsonSyntaxError(text) ?? { offset: 0, message: (err as Error).message };
    const { line, col } = positionOf(text, found.offset);
    return { error: `${sourceName}:${line}:${col}: invalid JSON: ${found.message}` };
  }
}

function parseYaml(text: string, sourceName: string): ConfigText {
  const lines = new (yaml().LineCounter)();
  const docs = yaml().parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, merge: true, prettyErrors: true });
  if (!Array.isArray(docs) || docs.length === 0) return { error: `${sourceName}: the configuration is empty` };
  const doc = docs[0]!;
  const problem = doc.errors[0];
  if (problem !== undefined) {
    const pos = problem.linePos?.[0] ?? lines.linePos(problem.pos[0]);
    const message = problem.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more error(s))` : '';
    return { error: `${sourceName}:${pos.line}:${pos.col}: ${message}${more}` };
  }
  if (docs.length > 1) {
    const pos = lines.linePos(docs[1]!.range[0]);
    return { error: `${sourceName}:${pos.line}:${pos.col}: a configuration must be a single YAML document` };
  }
  let json: unknown;
  try {
    json = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    return { error: `${sourceName}: ${(err as Error).message}` };
  }
  if (json === null || json === undefined) return { error: `${sourceName}: the configuration is empty` };
  lineCounters.set(doc, lines);
  lastParsed = { text, doc, lines };
  return { json, text, format: 'yaml' };
}

// === Locating fields ===

/**
 * Finds where the field at an issue path (`static_resources.clusters[0].
 * connect_timeout`, map keys as `["key"]`) is written in a YAML or JSON text,
 * or in a Document parsed by this module. Each name is tried as written and
 * in lowerCamel (files may use JSON names). When the full path does not exist
 * (e.g. a required field is missing), the position of the deepest existing
 * ancestor is returned; undefined when nothing matches or the text does not
 * parse.
 */
export function locateField(source: string | Document, fieldPath: string): SourcePosition | undefined {
  const parsed = typeof source === 'string' ? parsedText(source) : { doc: source, lines: lineCounters.get(source) };
  if (parsed === undefined || parsed.lines === undefined) return undefined;
  let node: unknown = parsed.doc.contents;
  let best: number | undefined;
  for (const seg of splitPath(fieldPath)) {
    if (typeof seg === 'number') {
      if (!yaml().isSeq(node)) break;
      const item: unknown = node.items[seg];
      const start = rangeStart(item);
      if (start === undefined) break;
      best = start;
      node = item;
    } else {
      if (!yaml().isMap(node)) break;
      const camel = seg.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
      const pair = node.items.find((p) => yaml().isScalar(p.key) && (String(p.key.value) === seg || String(p.key.value) === camel));
      const start = pair === undefined ? undefined : rangeStart(pair.key);
      if (pair === undefined || start === undefined) break;
      best = start;
      node = pair.value;
    }
  }
  return best === undefined ? undefined : parsed.lines.linePos(best);
}

/**
 * `file:line:col: path: message` for a decode issue (`file: path: message`
 * when the field cannot be located).
 */
export function describeIssue(sourceName: string, text: string | undefined, issue: { path: string; message: string }): string {
  const pos = text === undefined ? undefined : locateField(text, issue.path);
  const where = pos === undefined ? sourceName : `${sourceName}:${pos.line}:${pos.col}`;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
}

function parsedText(text: string): { doc: Document; lines: LineCounter } | undefined {
  if (lastParsed?.text === text) return lastParsed;
  const lines = new (yaml().LineCounter)();
  const docs = yaml().parseAllDocuments(text, { lineCounter: lines, merge: true });
  if (!Array.isArray(docs) || docs[0] === undefined) return undefined;
  lastParsed = { text, doc: docs[0], lines };
  return lastParsed;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return Array.isArray(range) ? range[0] : undefined;
}

/** `a.b[0]["k.x"].c` → ['a', 'b', 0, 'k.x', 'c']. */
function splitPath(fieldPath: string): Array<string | number> {
  const out: Array<string | number> = [];
  const re = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|([^.[\]]+)/g;
  for (const m of fieldPath.matchAll(re)) {
    if (m[1] !== undefined) out.push(Number(m[1]));
    else if (m[2] !== undefined) out.push(JSON.parse(m[2]) as string);
    else if (m[3] !== undefined) out.push(m[3]);
  }
  return out;
}

function positionOf(text: string, offset: number): SourcePosition {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

// === JSON syntax errors ===

/** Position and reason of the first JSON syntax error (RFC 8259), or undefined if the text is valid. */
function findJsonSyntaxError(text: string): { offset: number; message: string } | undefined {
  let i = 0;
  const fail = (message: string): never => {
    throw new JsonSyntaxError(i, i >= text.length ? 'unexpected end of input' : message);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const expect = (c: string): void => {
    if (text[i] !== c) fail(`expected '${c}' but found ${JSON.stringify(text[i])}`);
    i++;
  };
  const string = (): void => {
    i++;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') return void i++;
      if (c === '\\') {
        if (text[i + 1] === 'u' ? !/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6)) : !'"\\/bfnrt'.includes(text[i + 1] ?? 'x')) fail('invalid escape in string');
        i += text[i + 1] === 'u' ? 6 : 2;
      } else if (c < ' ') fail('control character in string');
      else i++;
    }
    fail('unterminated string');
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        ws();
        if (close === '}') {
          if (text[i] !== '"') fail(`expected a quoted key but found ${JSON.stringify(text[i])}`);
          string();
          ws();
          expect(':');
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) return void i++;
        else fail(`expected ',' or '${close}' but found ${JSON.stringify(text[i])}`);
      }
    }
    if (c === '"') return string();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) return void (i += word.length);
    }
    const num = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    num.lastIndex = i;
    if (num.exec(text) === null) fail(`unexpected ${JSON.stringify(c)}`);
    i = num.lastIndex;
  };
  try {
    value();
    ws();
    if (i < text.length) fail('unexpected content after the JSON value');
    return undefined;
  } catch (err) {
    if (err instanceof JsonSyntaxError) return { offset: err.offset, message: err.message };
    throw err;
  }
}

class JsonSyntaxError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}
