/**
 * The dedicated HTTP/2 connection of one host's gRPC (or HTTP/2) health checks. Envoy opens a
 * health-check connection of its own per host (never the data-path pool, so checks do not count
 * as cluster traffic) and keeps it between checks unless `reuse_connection` is false.
 * One exchange at a time; GOAWAY(NO_ERROR) lets the exchange in flight finish, any other GOAWAY
 * fails it, and either way the next check opens a new connection (grpc/health_checker_impl.cc).
 */
import http2 from 'node:http2';
import net from 'node:net';
import type { SocketAddress } from '../snapshot/model';
import { formatAddress } from '../snapshot/model';

export interface H2Response {
  readonly status: number;
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers: http2.IncomingHttpHeaders | undefined;
  readonly body: Buffer;
}

/** `ok`: a complete response; `error`: reset, refused, closed... (a NETWORK failure). */
export type H2Result = { readonly ok: true; readonly response: H2Response } | { readonly ok: false; readonly detail: string };

export class H2ProbeConnection {
  private session: http2.ClientHttp2Session | undefined;
  private stream: http2.ClientHttp2Stream | undefined;
  private fail: ((detail: string) => void) | undefined;

  constructor(private readonly address: SocketAddress, private readonly maxBodyBytes = 64 * 1024) {}

  /** Sends one request with `body` and END_STREAM; `done` runs once unless {@link abort} comes first. */
  exchange(headers: http2.OutgoingHttpHeaders, body: Buffer | undefined, done: (r: H2Result) => void): void {
    let finished = false;
    const finish = (r: H2Result): void => {
      if (finished) return;
      finished = true;
      this.stream = undefined;
      this.fail = undefined;
      done(r);
    };
    this.fail = (detail) => finish({ ok: false, detail });
    let session: http2.ClientHttp2Session;
    try {
      session = this.connect();
    } catch (err) {
      finish({ ok: false, detail: (err as Error).message });
      return;
    }
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: body === undefined });
    } catch (err) {
      this.dropSession();
      finish({ ok: false, detail: (err as Error).message });
      return;
    }
    this.stream = stream;
    let status = 0;
    let respHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let ended = false;
    stream.on('response', (h) => {
      status = Number(h[':status']);
      respHeaders = h;
    });
    stream.on('trailers', (t) => {
      trailers = t;
    });
    stream.on('data', (c: Buffer) => {
      if (size < this.maxBodyBytes) chunks.push(c);
      size += c.length;
    });
    stream.on('end', () => {
      ended = true;
    });
    // A connection error also errors its streams, first: let the session's (more telling) error win.
    stream.on('error', (err) => setImmediate(() => finish({ ok: false, detail: (err as NodeJS.ErrnoException).code ?? err.message })));
    stream.on('close', () => {
      if (ended && status) finish({ ok: true, response: { status, headers: respHeaders, trailers, body: Buffer.concat(chunks) } });
      else finish({ ok: false, detail: `stream closed before the response ended (RST_STREAM ${stream.rstCode})` });
    });
    if (body !== undefined) stream.end(body);
  }

  /** The check timed out: reset the stream (or drop a connection that never came up). */
  abort(): void {
    this.fail = undefined;
    const stream = this.stream;
    this.stream = undefined;
    if (this.session && (this.session.connecting || this.session.closed || this.session.destroyed)) this.dropSession();
    else if (stream && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  close(): void {
    this.fail = undefined;
    this.stream = undefined;
    this.dropSession();
  }

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const a = this.address;
    const session = a.kind === 'pipe'
      ? http2.connect('http://localhost', { createConnection: () => net.connect(a.path) })
      : http2.connect(`http://${formatAddress(a)}`);
    session.unref();
    const onGone = (detail: string): void => {
      if (this.session === session) this.session = undefined;
      this.fail?.(detail);
    };
    session.on('error', (err) => onGone((err as NodeJS.ErrnoException).code ?? err.message));
    session.on('close', () => onGone('connection closed'));
    session.on('goaway', (errorCode) => {
      // No new exchange on this connection; NO_ERROR lets the one in flight finish.
      if (this.session === session) this.session = undefined;
      if (errorCode !== http2.constants.NGHTTP2_NO_ERROR) {
        this.fail?.(`GOAWAY ${errorCode}`);
        session.destroy();
      } else if (!this.stream) {
        session.close();
      } else {
        this.stream.once('close', () => session.close());
      }
    });
    this.session = session;
    return session;
  }

  private dropSession(): void {
    const s = this.session;
    this.session = undefined;
    if (s && !s.destroyed) s.destroy();
  }
}
