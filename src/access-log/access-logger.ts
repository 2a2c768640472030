import { createWriteStream } from 'node:fs';
import type { AccessLogModel } from '../snapshot/model';
import type { StreamInfo } from '../http/stream-info';
import { compileOperator, compileTextFormat, type CompiledFormat } from './formatter';
import { compileAccessLogFilter, type AccessLogPredicate } from './filter-compile';

/**
 * One configured access log: a compiled format and a buffered sink. Lines are
 * gathered and written once per flush, so logging never blocks a request.
 */
export class AccessLogger {
  private readonly format: CompiledFormat;
  private readonly sink: LineSink;
  private readonly accepts: AccessLogPredicate | undefined;

  constructor(model: AccessLogModel, flushIntervalMs: number) {
    this.accepts = model.filter ? compileAccessLogFilter(model.filter) : undefined;
    this.format = model.format.kind === 'text' ? compileTextFormat(model.format.text) : compileJsonFormat(model.format.fields, model.format.typed);
    this.sink = sinkFor(model.sink, flushIntervalMs);
  }

  log(info: StreamInfo): void {
    if (this.accepts && !this.accepts(info)) return;
    this.sink.write(this.format.render(info));
  }
}

/**
 * A `json_format` / `typed_json_format` dictionary, compiled once (exported for bench/micro).
 * The line is written key by key in the configured order (as `JSON.stringify` of the object
 * would, for non-integer keys), without building an object per request.
 */
export function compileJsonFormat(fields: Readonly<Record<string, unknown>>, typed: boolean): CompiledFormat {
  const entries = Object.entries(fields).map(([k, v]) => {
    const text = String(v);
    const whole = /^%([A-Z_0-9]+)(?:\(([^)]*)\))?(?::(\d+))?%$/.exec(text);
    if (whole) {
      const g = compileOperator(whole[1]!, whole[2], whole[3] === undefined ? undefined : Number(whole[3]));
      if (typed) return [k, (s: StreamInfo) => { const r = g(s); return r === undefined || r === '' ? null : r; }] as const;
      // One operator, untyped: what its text format would render, without the parts loop.
      return [k, (s: StreamInfo) => { const r = g(s); return r === undefined || r === '' ? '-' : String(r); }] as const;
    }
    const f = compileTextFormat(text);
    return [k, (s: StreamInfo) => f.render(s)] as const;
  });
  // Integer-like keys are ordered first by JSON.stringify; keep its exact output for those.
  if (entries.some(([k]) => /^(0|[1-9]\d*)$/.test(k))) {
    return {
      render(s) {
        const o: Record<string, unknown> = {};
        for (const [k, g] of entries) o[k] = g(s);
        return JSON.stringify(o) + '\n';
      },
    };
  }
  const prefixes = entries.map(([k], i) => `${i === 0 ? '{' : ','}${JSON.stringify(k)}:`);
  const getters = entries.map(([, g]) => g);
  const empty = entries.length === 0 ? '{}\n' : undefined;
  return {
    render(s) {
      if (empty) return empty;
      let out = '';
      for (let i = 0; i < getters.length; i++) {
        const v = getters[i]!(s);
        out += prefixes[i]! + (typeof v === 'string' ? JSON.stringify(v) : v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? 'null' : String(v));
      }
      return out + '}\n';
    },
  };
}

interface LineSink {
  write(line: string): void;
}

const sinks = new Map<string, LineSink>();

function sinkFor(s: AccessLogModel['sink'], flushIntervalMs: number): LineSink {
  const key = s.kind === 'file' ? `file:${s.path}` : s.kind;
  let sink = sinks.get(key);
  if (!sink) {
    sink = s.kind === 'file'
      ? new BufferedSink(createWriteStream(s.path, { flags: 'a' }), flushIntervalMs, s.path)
      : new BufferedSink(s.kind === 'stdout' ? process.stdout : process.stderr, 0, undefined);
    sinks.set(key, sink);
  }
  return sink;
}

/** Collects lines and writes them in one call per tick (stdio) or per interval (files). */
class BufferedSink implements LineSink {
  private buf = '';
  private scheduled = false;

  constructor(private out: NodeJS.WritableStream, private readonly intervalMs: number, private readonly path: string | undefined) {
    out.on('error', () => undefined);
  }

  /** Log rotation (SIGUSR1 / admin /reopen_logs): flush, then reopen the file by its path. */
  reopen(): void {
    if (!this.path) return;
    this.flush();
    const old = this.out;
    this.out = createWriteStream(this.path, { flags: 'a' });
    this.out.on('error', () => undefined);
    old.end();
  }

  write(line: string): void {
    this.buf += line;
    // Envoy also flushes a file buffer once it holds 64 KiB.
    if (this.buf.length >= 65536) {
      this.flush();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.intervalMs > 0) setTimeout(this.flush, this.intervalMs).unref();
    else setImmediate(this.flush);
  }

  readonly flush = (): void => {
    this.scheduled = false;
    if (!this.buf) return;
    const b = this.buf;
    this.buf = '';
    this.out.write(b);
  };
}

/** Reopens every access-log file (after logrotate moved it). */
export function reopenAccessLogs(): void {
  for (const s of sinks.values()) (s as BufferedSink).reopen();
}

/** Writes every buffered line now (shutdown). */
export function flushAccessLogs(): void {
  for (const s of sinks.values()) (s as BufferedSink).flush();
}
