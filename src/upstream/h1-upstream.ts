import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { PassThrough, type Readable } from 'node:stream';
import { CONNECTION_SPECIFIC_HEADERS } from '../http/headers';
import type { Host } from './host';
import type { UpstreamFailure, UpstreamHandler, UpstreamRequest } from './upstream-request';
import { lazyRequire } from '../common/lazy-require';

/** Loaded with the first HTTP/1.1 upstream (see lazy-require.ts). */
const undici = lazyRequire<typeof import('undici')>('undici');

/**
 * One request to an HTTP/1.1 upstream through undici's pool for the host.
 * HTTP/2-form headers are translated to an HTTP/1.1 request head (RFC 9113 §8.3.1).
 */
export class H1Upstream implements UpstreamRequest {
  private readonly abort = new AbortController();
  private body: PassThrough | undefined;
  private response: Readable | undefined;
  private finished = false;
  private gotHeaders = false;

  constructor(private readonly host: Host, private readonly headers: OutgoingHttpHeaders, private readonly hasBody: boolean, private readonly handler: UpstreamHandler) {}

  /** Dispatches the request (see H2Upstream.start for why this is not the constructor). */
  start(): void {
    const { host, headers, hasBody, handler } = this;
    const method = String(headers[':method'] ?? 'GET');
    const path = String(headers[':path'] ?? '/');
    const out: Record<string, string | string[]> = { host: String(headers[':authority'] ?? host.key) };
    for (const k in headers) {
      if (k.charCodeAt(0) === 58 /* : */ || CONNECTION_SPECIFIC_HEADERS.has(k) || k === 'te' || k === 'expect') continue;
      const v = headers[k];
      if (v !== undefined) out[k] = Array.isArray(v) ? v.map(String) : String(v);
    }
    this.body = hasBody ? new PassThrough() : undefined;
    host
      .h1Pool()
      .request({ method: method as 'GET', path, headers: out, body: this.body ?? null, signal: this.abort.signal })
      .then(this.onResponse, this.onError);
    // undici dispatches as soon as a connection is free; there is no separate "ready" event.
    queueMicrotask(() => { if (!this.finished) handler.onUpstreamReady(''); });
  }

  write(chunk: Buffer): boolean {
    return this.body ? this.body.write(chunk) : true;
  }

  onDrain(cb: () => void): void {
    if (this.body) this.body.once('drain', cb);
    else cb();
  }

  end(): void {
    this.body?.end();
  }

  pause(): void {
    this.response?.pause();
  }

  resume(): void {
    this.response?.resume();
  }

  cancel(): void {
    if (this.finished) return;
    this.finished = true;
    this.abort.abort();
  }

  private readonly onResponse = (res: { statusCode: number; headers: IncomingHttpHeaders; body: Readable; trailers: Record<string, string> }): void => {
    if (this.finished) {
      res.body.destroy();
      return;
    }
    this.gotHeaders = true;
    this.response = res.body;
    const h: IncomingHttpHeaders = { ':status': String(res.statusCode) } as IncomingHttpHeaders;
    for (const k in res.headers) if (!CONNECTION_SPECIFIC_HEADERS.has(k)) h[k] = res.headers[k];
    const noBody = res.statusCode === 204 || res.statusCode === 304 || res.headers['content-length'] === '0';
    this.handler.onUpstreamHeaders(h, false);
    if (noBody) {
      res.body.resume();
    }
    res.body.on('data', (chunk: Buffer) => this.handler.onUpstreamData(chunk));
    res.body.on('end', () => {
      if (this.finished) return;
      this.finished = true;
      if (res.trailers && Object.keys(res.trailers).length) this.handler.onUpstreamTrailers(res.trailers);
      this.handler.onUpstreamEnd();
    });
    res.body.on('error', (err: Error) => this.onError(err));
  };

  private readonly onError = (err: Error): void => {
    if (this.finished) return;
    this.finished = true;
    this.handler.onUpstreamFailure(classify(err as CodedError, this.gotHeaders));
  };
}

type CodedError = Error & { code?: string; cause?: unknown };

function classify(err: CodedError, gotHeaders: boolean): UpstreamFailure {
  const code = err.code ?? (err.cause as { code?: string } | undefined)?.code ?? '';
  if (err instanceof undici().errors.ConnectTimeoutError || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return { kind: 'connection_failure', message: 'connection timeout', unprocessed: true };
  }
  if (code === 'ECONNREFUSED') return { kind: 'connection_failure', message: 'delayed connect error: 111', unprocessed: true };
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENOTFOUND') {
    return { kind: 'connection_failure', message: `connect error: ${code}`, unprocessed: true };
  }
  return { kind: gotHeaders ? 'remote_reset' : 'connection_termination', message: err.message, unprocessed: false };
}
