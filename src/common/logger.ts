/**
 * Envoy-style application logging for the whole proxy.
 *
 * Mirrors Envoy's logger registry (`source/common/common/logger.h`): a fixed set of named
 * components (`ALL_LOGGER_IDS`), one level per component, one global sink (stderr or
 * `--log-path`), and one spdlog-style line format (`--log-format`), compiled once into an array
 * of piece functions.
 *
 * Disabled levels cost nothing: each logger exposes plain boolean fields (`debugEnabled`) and its
 * disabled methods are a shared no-op, as `pinojs/pino:lib/levels.js` does. Test the guard
 * before building an expensive message:
 *
 * ```ts
 * const log = logger('upstream');
 * if (log.debugEnabled) log.debug(`host ${host.address} GOAWAY last=${lastStreamId}`);
 * ```
 *
 * Source locations (`%g`, `%s`, `%@`, `%#`) cannot be had cheaply in JavaScript. `%g`/`%s` print
 * the `source` given to {@link logger} (normalised, e.g. `src/upstream/pool.js`), or the component
 * name when none was given; `%#` (line) always prints `-`; `%!` (function) prints nothing.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';

// === Levels ===

/** Envoy / spdlog level names, in increasing severity. `off` disables a logger. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warning' | 'error' | 'critical' | 'off';

/** All level names in spdlog order; the index is the numeric severity (trace = 0, off = 6). */
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'];

/** spdlog short level names (`%L`), indexed like {@link LOG_LEVELS}. */
const SHORT_LEVELS: readonly string[] = ['T', 'D', 'I', 'W', 'E', 'C', 'O'];

/**
 * Parses a level name as Envoy's `-l` does (`parseAndValidateLogLevel` in
 * `source/server/options_impl.cc`): exact spdlog names plus the alias `warn` for `warning`.
 * @returns the canonical level, or undefined when the text is not a level.
 */
export function parseLogLevel(text: string): LogLevel | undefined {
  if (text === 'warn') return 'warning';
  return (LOG_LEVELS as readonly string[]).includes(text) ? (text as LogLevel) : undefined;
}

// === Components ===

/**
 * Envoy's logger names (`ALL_LOGGER_IDS` in `source/common/common/logger.h`, Envoy 1.31), in
 * registry order. `--component-log-level` and admin `/logging` only accept these names.
 */
export const LOGGER_NAMES = [
  'admin', 'alternate_protocols_cache', 'aws', 'assert', 'backtrace', 'basic_auth', 'cache_filter',
  'client', 'config', 'connection', 'conn_handler', 'decompression', 'dns', 'dubbo', 'envoy_bug',
  'ext_authz', 'ext_proc', 'rocketmq', 'file', 'filter', 'forward_proxy', 'geolocation', 'grpc',
  'happy_eyeballs', 'hc', 'health_checker', 'http', 'http2', 'hystrix', 'init', 'io', 'jwt', 'kafka',
  'key_value_store', 'lua', 'main', 'matcher', 'misc', 'mongo', 'multi_connection', 'oauth2', 'quic',
  'quic_stream', 'pool', 'rate_limit_quota', 'rbac', 'rds', 'redis', 'router', 'runtime', 'stats',
  'secret', 'tap', 'testing', 'thrift', 'tracing', 'upstream', 'udp', 'wasm', 'websocket', 'golang',
] as const;

/** One of Envoy's logger names. */
export type LoggerName = (typeof LOGGER_NAMES)[number];

const NAME_SET: ReadonlySet<string> = new Set(LOGGER_NAMES);

/** @returns true when `name` is one of Envoy's logger names ({@link LOGGER_NAMES}). */
export function isLoggerName(name: string): name is LoggerName {
  return NAME_SET.has(name);
}

/** A named logger. Level fields are refreshed in place whenever the component's level changes. */
export interface Logger {
  /** Component name, printed by `%n`. */
  readonly name: LoggerName;
  /** Current level of the component. */
  readonly level: LogLevel;
  /** True when `trace` lines are written. Test it before building a costly message. */
  readonly traceEnabled: boolean;
  /** True when `debug` lines are written. */
  readonly debugEnabled: boolean;
  /** True when `info` lines are written. */
  readonly infoEnabled: boolean;
  /** True when `warning` lines are written. */
  readonly warnEnabled: boolean;
  /** True when `error` lines are written. */
  readonly errorEnabled: boolean;
  /** True when `critical` lines are written. */
  readonly criticalEnabled: boolean;
  /** Writes at `trace`; a no-op when disabled. */
  trace(message: string): void;
  /** Writes at `debug`; a no-op when disabled. */
  debug(message: string): void;
  /** Writes at `info`; a no-op when disabled. */
  info(message: string): void;
  /** Writes at `warning`; a no-op when disabled. */
  warn(message: string): void;
  /** Writes at `error`; a no-op when disabled. */
  error(message: string): void;
  /** Writes at `critical`; a no-op when disabled. */
  critical(message: string): void;
  /** Writes at `level` if enabled (`off` never writes). */
  log(level: LogLevel, message: string): void;
}

const noop = (_message: string): void => {};

class ComponentLogger implements Logger {
  level: LogLevel = 'info';
  traceEnabled = false;
  debugEnabled = false;
  infoEnabled = false;
  warnEnabled = false;
  errorEnabled = false;
  criticalEnabled = false;
  trace: (message: string) => void = noop;
  debug: (message: string) => void = noop;
  info: (message: string) => void = noop;
  warn: (message: string) => void = noop;
  error: (message: string) => void = noop;
  critical: (message: string) => void = noop;
  private severity = 2;
  // Bound emitters, created once; refresh() only swaps them with noop.
  private readonly emitters: ReadonlyArray<(message: string) => void>;

  constructor(readonly name: LoggerName, readonly source: string) {
    this.emitters = [0, 1, 2, 3, 4, 5].map((sev) => (message: string) => emit(this, sev, message));
  }

  /** Re-derives the guards and methods from the component level. */
  refresh(severity: number): void {
    this.severity = severity;
    this.level = LOG_LEVELS[severity]!;
    const e = this.emitters;
    this.traceEnabled = severity <= 0;
    this.debugEnabled = severity <= 1;
    this.infoEnabled = severity <= 2;
    this.warnEnabled = severity <= 3;
    this.errorEnabled = severity <= 4;
    this.criticalEnabled = severity <= 5;
    this.trace = this.traceEnabled ? e[0]! : noop;
    this.debug = this.debugEnabled ? e[1]! : noop;
    this.info = this.infoEnabled ? e[2]! : noop;
    this.warn = this.warnEnabled ? e[3]! : noop;
    this.error = this.errorEnabled ? e[4]! : noop;
    this.critical = this.criticalEnabled ? e[5]! : noop;
  }

  log(level: LogLevel, message: string): void {
    const sev = LOG_LEVELS.indexOf(level);
    if (sev >= this.severity && sev < 6) emit(this, sev, message);
  }
}

interface Component {
  severity: number;
  readonly loggers: ComponentLogger[];
}

const components = new Map<LoggerName, Component>(
  LOGGER_NAMES.map((name) => [name, { severity: 2, loggers: [] }]),
);

/**
 * Returns a logger for an Envoy component. Loggers are cheap views; create them once per module.
 * @param name Envoy logger name (`upstream`, `config`, `http2`, ...).
 * @param source optional source file (e.g. `__filename`) printed by `%g`/`%s`; defaults to the
 *   component name.
 * @throws TypeError when `name` is not an Envoy logger name (a typo would otherwise silently
 *   create a component nobody can enable).
 */
export function logger(name: LoggerName, source?: string): Logger {
  const component = components.get(name);
  if (component === undefined) throw new TypeError(`unknown logger name '${String(name)}'`);
  const instance = new ComponentLogger(name, normaliseSource(source) ?? name);
  instance.refresh(component.severity);
  component.loggers.push(instance);
  return instance;
}

function normaliseSource(source: string | undefined): string | undefined {
  if (source === undefined || source === '') return undefined;
  const dist = source.lastIndexOf('/dist/');
  if (dist >= 0) return source.slice(dist + 6);
  const src = source.indexOf('/src/');
  return source.startsWith('/') && src >= 0 ? source.slice(src + 1) : source;
}

/** Sets every component to `level`, as `-l` and admin `/logging?level=` do. */
export function setLevel(level: LogLevel): void {
  const sev = LOG_LEVELS.indexOf(level);
  for (const c of components.values()) applySeverity(c, sev);
}

/**
 * Sets one component's level, as `--component-log-level` and admin `/logging?<name>=` do.
 * @returns false (and changes nothing) when `name` is not an Envoy logger name.
 */
export function setComponentLevel(name: string, level: LogLevel): boolean {
  const c = isLoggerName(name) ? components.get(name) : undefined;
  if (c === undefined) return false;
  applySeverity(c, LOG_LEVELS.indexOf(level));
  return true;
}

function applySeverity(c: Component, severity: number): void {
  c.severity = severity;
  for (const l of c.loggers) l.refresh(severity);
}

/** Current level of every component, in Envoy's registry order. */
export function levels(): ReadonlyArray<{ readonly name: LoggerName; readonly level: LogLevel }> {
  return LOGGER_NAMES.map((name) => ({ name, level: LOG_LEVELS[components.get(name)!.severity]! }));
}

/** The body admin `/logging` answers with: `active loggers:\n  admin: info\n...`. */
export function activeLoggersText(): string {
  let out = 'active loggers:\n';
  for (const { name, level } of levels()) out += `  ${name}: ${level}\n`;
  return out;
}

// === Format ===

/** Envoy's default `--log-format` (`Logger::DEFAULT_LOG_FORMAT`). */
export const DEFAULT_LOG_FORMAT = '[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v';

/** One log line before formatting. */
export interface LogRecord {
  /** Wall-clock time, milliseconds since the epoch; fractions give `%f`/`%F` their digits. */
  timeMs: number;
  /** Numeric severity: index into {@link LOG_LEVELS}. */
  severity: number;
  /** Component name (`%n`). */
  name: string;
  /** Source label (`%g`, `%s`). */
  source: string;
  /** The message (`%v`). */
  message: string;
  /** Thread id (`%t`). */
  threadId: string;
}

/** Options for {@link compileLogFormat}. */
export interface LogFormatOptions {
  /** `--log-format-escaped`: C-escape control characters, quotes and backslashes in `%v`. Default false. */
  readonly escaped?: boolean;
  /** Time zone of the date flags. spdlog (and so Envoy) uses local time; default `'local'`. */
  readonly timeZone?: 'local' | 'utc';
}

interface TimeParts {
  year: number; month: number; day: number; weekday: number;
  hour: number; minute: number; second: number; offsetMin: number; epochS: number;
}
type Piece = (r: LogRecord, t: TimeParts) => string;

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
  'October', 'November', 'December'];
const p2 = (n: number): string => (n < 10 ? '0' : '') + n;
const p3 = (n: number): string => String(n).padStart(3, '0');
const h12 = (h: number): number => (h % 12 === 0 ? 12 : h % 12);
const hms = (t: TimeParts): string => `${p2(t.hour)}:${p2(t.minute)}:${p2(t.second)}`;
const subMs = (r: LogRecord): number => Math.floor(((r.timeMs % 1000) + 1000) % 1000);
const subNs = (r: LogRecord): number => Math.floor((((r.timeMs % 1000) + 1000) % 1000) * 1e6);

const TIME_FLAGS = 'aAbBcCYDxmdHIMSpTXrRzE';
const PIECES: Record<string, Piece> = {
  a: (_r, t) => DAYS[t.weekday]!.slice(0, 3),
  A: (_r, t) => DAYS[t.weekday]!,
  b: (_r, t) => MONTHS[t.month - 1]!.slice(0, 3),
  B: (_r, t) => MONTHS[t.month - 1]!,
  c: (_r, t) => `${DAYS[t.weekday]!.slice(0, 3)} ${MONTHS[t.month - 1]!.slice(0, 3)} ${p2(t.day)} ${hms(t)} ${t.year}`,
  C: (_r, t) => p2(t.year % 100),
  Y: (_r, t) => String(t.year),
  D: (_r, t) => `${p2(t.month)}/${p2(t.day)}/${p2(t.year % 100)}`,
  m: (_r, t) => p2(t.month),
  d: (_r, t) => p2(t.day),
  H: (_r, t) => p2(t.hour),
  I: (_r, t) => p2(h12(t.hour)),
  M: (_r, t) => p2(t.minute),
  S: (_r, t) => p2(t.second),
  p: (_r, t) => (t.hour < 12 ? 'AM' : 'PM'),
  T: (_r, t) => hms(t),
  r: (_r, t) => `${p2(h12(t.hour))}:${p2(t.minute)}:${p2(t.second)} ${t.hour < 12 ? 'AM' : 'PM'}`,
  R: (_r, t) => `${p2(t.hour)}:${p2(t.minute)}`,
  z: (_r, t) => {
    const o = Math.abs(t.offsetMin);
    return `${t.offsetMin < 0 ? '-' : '+'}${p2(Math.floor(o / 60))}:${p2(o % 60)}`;
  },
  E: (_r, t) => String(t.epochS),
  e: (r) => p3(subMs(r)),
  f: (r) => String(Math.floor(subNs(r) / 1000)).padStart(6, '0'),
  F: (r) => String(subNs(r)).padStart(9, '0'),
  t: (r) => r.threadId,
  P: () => String(process.pid),
  n: (r) => r.name,
  l: (r) => LOG_LEVELS[r.severity]!,
  L: (r) => SHORT_LEVELS[r.severity]!,
  v: (r) => r.message,
  _: (r) => r.message.replace(/\n/g, '\\n'),
  j: (r) => JSON.stringify(r.message).slice(1, -1),
  g: (r) => r.source,
  s: (r) => basename(r.source),
  '#': () => '-',
  '@': (r) => `${r.source}:-`,
  '!': () => '',
  '^': () => '', // spdlog colour range start: Legate never colours.
  $: () => '',
  '%': () => '%',
};
PIECES['X'] = PIECES['T']!;
PIECES['x'] = PIECES['D']!;

const C_ESCAPES: Readonly<Record<string, string>> = {
  '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', "'": "\\'", '\\': '\\\\',
};

/**
 * C-style escaping as `--log-format-escaped` does (absl `CEscape`): `\n \r \t \" \' \\`, other
 * control characters as three-digit octal. Non-ASCII text is kept as is.
 */
export function escapeLogMessage(message: string): string {
  if (!/[\x00-\x1f\x7f"'\\]/.test(message)) return message;
  return message.replace(/[\x00-\x1f\x7f"'\\]/g, (ch) =>
    C_ESCAPES[ch] ?? `\\${ch.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

function pad(piece: Piece, align: string, width: number, truncate: boolean): Piece {
  return (r, t) => {
    let s = piece(r, t);
    if (s.length > width) return truncate ? s.slice(0, width) : s;
    const fill = width - s.length;
    if (align === '-') return s + ' '.repeat(fill);
    if (align === '=') {
      const left = Math.floor(fill / 2);
      s = ' '.repeat(left) + s + ' '.repeat(fill - left);
      return s;
    }
    return ' '.repeat(fill) + s;
  };
}

/**
 * Compiles an spdlog pattern (Envoy `--log-format`) into a line renderer. Supported flags:
 * `%v %_ %j %t %P %n %l %L %a %A %b %B %c %C %Y %D %x %m %d %H %I %M %S %e %f %F %p %r %R %T %X
 * %z %E %g %s %# %@ %! %^ %$ %%`, with spdlog padding (`%8l`, `%-8l`, `%=8l`, `%8!l`). `%_` is the
 * message with newlines escaped and `%j` the message JSON-escaped (Envoy's custom flags). An
 * unknown flag prints itself, as spdlog does.
 * @returns a function rendering one record (without the trailing newline).
 */
export function compileLogFormat(format: string, options: LogFormatOptions = {}): (record: LogRecord) => string {
  // Each segment is a literal, a piece that only changes once a second (date and time down to
  // seconds), or a piece of the record. Runs of the first two are rendered once per second.
  const segments: Array<{ readonly piece: Piece; readonly kind: 'literal' | 'second' | 'record' }> = [];
  let literal = '';
  let usesTime = false;
  const flush = (): void => {
    if (literal === '') return;
    const text = literal;
    segments.push({ piece: () => text, kind: 'literal' });
    literal = '';
  };
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== '%' || i === format.length - 1) {
      literal += ch;
      continue;
    }
    let j = i + 1;
    let align = '';
    if (format[j] === '-' || format[j] === '=') align = format[j++]!;
    let digits = '';
    while (j < format.length && format[j]! >= '0' && format[j]! <= '9') digits += format[j++];
    let truncate = false;
    if (digits !== '' && format[j] === '!') {
      truncate = true;
      j++;
    }
    const flag = format[j];
    if (flag === undefined) {
      literal += format.slice(i);
      break;
    }
    let piece = PIECES[flag];
    if (piece === undefined) {
      literal += `%${flag}`;
    } else {
      if (flag === 'v' && options.escaped === true) piece = (r) => escapeLogMessage(r.message);
      const perSecond = TIME_FLAGS.includes(flag);
      if (perSecond) usesTime = true;
      if (digits !== '') piece = pad(piece, align, Math.min(Number(digits), 128), truncate);
      flush();
      segments.push({ piece, kind: perSecond ? 'second' : 'record' });
    }
    i = j;
  }
  flush();

  const pieces: Piece[] = [];
  let run: Piece[] = [];
  let runIsLiteral = true;
  const closeRun = (): void => {
    if (run.length === 0) return;
    const fns = run;
    if (runIsLiteral) {
      const text = fns.map((f) => f(undefined as unknown as LogRecord, undefined as unknown as TimeParts)).join('');
      pieces.push(() => text);
    } else {
      let cachedSecond = Number.NaN;
      let cached = '';
      pieces.push((r, t) => {
        if (t.epochS !== cachedSecond) {
          cachedSecond = t.epochS;
          cached = '';
          for (const f of fns) cached += f(r, t);
        }
        return cached;
      });
    }
    run = [];
    runIsLiteral = true;
  };
  for (const seg of segments) {
    if (seg.kind === 'record') {
      closeRun();
      pieces.push(seg.piece);
    } else {
      run.push(seg.piece);
      if (seg.kind === 'second') runIsLiteral = false;
    }
  }
  closeRun();

  const timeOf = makeTimeCache(options.timeZone ?? 'local');
  const none = undefined as unknown as TimeParts;
  const n = pieces.length;
  return (r) => {
    const t = usesTime ? timeOf(r.timeMs) : none;
    let out = '';
    for (let k = 0; k < n; k++) out += pieces[k]!(r, t);
    return out;
  };
}

/** Broken-down time, recomputed only when the second changes (spdlog caches the same way). */
function makeTimeCache(zone: 'local' | 'utc'): (timeMs: number) => TimeParts {
  let cachedSecond = Number.NaN;
  const parts: TimeParts = { year: 0, month: 0, day: 0, weekday: 0, hour: 0, minute: 0, second: 0, offsetMin: 0, epochS: 0 };
  return (timeMs) => {
    const second = Math.floor(timeMs / 1000);
    if (second === cachedSecond) return parts;
    cachedSecond = second;
    const d = new Date(second * 1000);
    const utc = zone === 'utc';
    parts.year = utc ? d.getUTCFullYear() : d.getFullYear();
    parts.month = (utc ? d.getUTCMonth() : d.getMonth()) + 1;
    parts.day = utc ? d.getUTCDate() : d.getDate();
    parts.weekday = utc ? d.getUTCDay() : d.getDay();
    parts.hour = utc ? d.getUTCHours() : d.getHours();
    parts.minute = utc ? d.getUTCMinutes() : d.getMinutes();
    parts.second = utc ? d.getUTCSeconds() : d.getSeconds();
    parts.offsetMin = utc ? 0 : -d.getTimezoneOffset();
    parts.epochS = second;
    return parts;
  };
}

// === Sinks ===

/** Where formatted lines go. `write` receives one full line including its trailing `\n`. */
export interface LogSink {
  /** Writes one line; must not throw and should not block the event loop for long. */
  write(line: string): void;
  /** Resolves when everything written so far has reached the OS. */
  flush(): Promise<void>;
  /** Flushes and releases the sink; later writes are dropped. */
  close(): Promise<void>;
  /** Re-opens the underlying file (log rotation on SIGUSR1, as Envoy does); no-op for streams. */
  reopen(): void;
}

/** A sink writing to stderr, which Node writes synchronously for files, TTYs and pipes on POSIX. */
export function stderrSink(): LogSink {
  return {
    write: (line) => { process.stderr.write(line); },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
    reopen: () => {},
  };
}

/** Lines are dropped (and counted) once this many bytes wait for the disk. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

/**
 * A sink appending to `path` (`--log-path`) through a `fs.WriteStream`: writes queue in memory
 * and reach the disk in batches (`writev`), never blocking per line. On a write error, lines go
 * to stderr instead, after one line saying why.
 */
export function fileSink(path: string): LogSink & { readonly droppedLines: number } {
  let stream: WriteStream | undefined;
  let failed = false;
  let closed = false;
  let dropped = 0;
  const open = (): WriteStream => {
    const s = createWriteStream(path, { flags: 'a' });
    s.on('error', (err) => {
      if (s !== stream || failed) return;
      failed = true;
      process.stderr.write(`legate: cannot write log file ${path}: ${err.message}; logging to stderr\n`);
    });
    return s;
  };
  stream = open();
  const sink = {
    get droppedLines() { return dropped; },
    write(line: string): void {
      if (closed) return;
      if (failed || stream === undefined) {
        process.stderr.write(line);
      } else if (stream.writableLength > MAX_PENDING_BYTES) {
        if (dropped++ === 0) process.stderr.write(`legate: log file ${path} is ${MAX_PENDING_BYTES} bytes behind; dropping lines\n`);
      } else {
        stream.write(line);
      }
    },
    flush(): Promise<void> {
      const s = stream;
      if (s === undefined || failed || s.writableEnded) return Promise.resolve();
      return new Promise<void>((resolve) => { s.write('', () => resolve()); });
    },
    close(): Promise<void> {
      closed = true;
      const s = stream;
      stream = undefined;
      if (s === undefined || s.writableEnded) return Promise.resolve();
      return new Promise<void>((resolve) => { s.end(() => resolve()); });
    },
    reopen(): void {
      if (closed) return;
      const old = stream;
      failed = false;
      stream = open();
      old?.end();
    },
  };
  return sink;
}

// === Configuration ===

/** Settings applied by {@link configureLogging}; omitted keys keep their current value. */
export interface LoggingConfig {
  /** `-l`: level for every component, applied before `componentLevels`. */
  readonly level?: LogLevel;
  /** `--component-log-level`, already parsed: applied in order after `level`. */
  readonly componentLevels?: ReadonlyArray<readonly [string, LogLevel]>;
  /** `--log-format`; default {@link DEFAULT_LOG_FORMAT}. */
  readonly format?: string;
  /** `--log-format-escaped`; default false. */
  readonly escaped?: boolean;
  /** `--log-path`: append to this file; `''` means stderr (the default). Ignored when `sink` is set. */
  readonly path?: string;
  /** Explicit sink (tests, embedding). Replaces the current sink, which is closed. */
  readonly sink?: LogSink;
  /**
   * Wall clock in epoch milliseconds. Default: `Date.now()` plus the sub-millisecond part of
   * `performance.now()`, so the time follows the system clock and `%f`/`%F` still get digits.
   */
  readonly clock?: () => number;
  /** Date flags' time zone; default `'local'` like spdlog. */
  readonly timeZone?: 'local' | 'utc';
  /** `%t`; default the pid on the main thread (Linux main thread id), `threadId` in a worker. */
  readonly threadId?: number | string;
}

const state = {
  format: DEFAULT_LOG_FORMAT,
  escaped: false,
  timeZone: 'local' as 'local' | 'utc',
  render: compileLogFormat(DEFAULT_LOG_FORMAT),
  sink: stderrSink(),
  clock: (): number => Date.now() + (performance.now() % 1),
  /** Set by configureLogging or, at the first line logged, {@link defaultThreadId}. */
  threadId: undefined as string | undefined,
};

/**
 * The pid on the main thread, the worker's `threadId` in a worker thread. node:worker_threads is
 * loaded here, at the first line logged, not at start: a sidecar logging at `warning` (Istio's
 * default) would load it (and ~1 MiB of RSS) for nothing.
 */
function defaultThreadId(): string {
  const { isMainThread, threadId } = require('node:worker_threads') as typeof import('node:worker_threads');
  return String(isMainThread ? process.pid : threadId);
}

// Reused for every line: formatting is synchronous, so one record object suffices.
const record: LogRecord = { timeMs: 0, severity: 0, name: '', source: '', message: '', threadId: '' };

function emit(l: ComponentLogger, severity: number, message: string): void {
  record.timeMs = state.clock();
  record.severity = severity;
  record.name = l.name;
  record.source = l.source;
  record.message = message;
  record.threadId = (state.threadId ??= defaultThreadId());
  state.sink.write(state.render(record) + '\n');
}

/**
 * Applies command-line logging settings (`-l`, `--component-log-level`, `--log-format`,
 * `--log-format-escaped`, `--log-path`). Unknown component names are skipped and returned, so the
 * caller can report them.
 * @returns component names from `componentLevels` that are not Envoy logger names.
 */
export function configureLogging(config: LoggingConfig): string[] {
  if (config.level !== undefined) setLevel(config.level);
  const unknown: string[] = [];
  for (const [name, level] of config.componentLevels ?? []) {
    if (!setComponentLevel(name, level)) unknown.push(name);
  }
  if (config.format !== undefined) state.format = config.format;
  if (config.escaped !== undefined) state.escaped = config.escaped;
  if (config.timeZone !== undefined) state.timeZone = config.timeZone;
  if (config.format !== undefined || config.escaped !== undefined || config.timeZone !== undefined) {
    state.render = compileLogFormat(state.format, { escaped: state.escaped, timeZone: state.timeZone });
  }
  if (config.clock !== undefined) state.clock = config.clock;
  if (config.threadId !== undefined) state.threadId = String(config.threadId);
  if (config.sink !== undefined || config.path !== undefined) {
    const old = state.sink;
    state.sink = config.sink ?? (config.path ? fileSink(config.path) : stderrSink());
    void old.close();
  }
  return unknown;
}

/** Resolves once every line written so far has been handed to the OS. Call before exiting. */
export function flushLogs(): Promise<void> {
  return state.sink.flush();
}

/** Re-opens the `--log-path` file (Envoy does this on SIGUSR1 for log rotation). */
export function reopenLogs(): void {
  state.sink.reopen();
}
