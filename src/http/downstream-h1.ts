import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { Downstream, DownstreamCloseListener } from './downstream';
import { CONNECTION_SPECIFIC_HEADERS } from './headers';

/**
 * A downstream HTTP/1.1 exchange presented in HTTP/2 form, so that an HTTP/1.1
 * client can reach an HTTP/2 upstream and the router stays protocol-neutral.
 */
export class H1Downstream implements Downstream {
  readonly protocol = 'HTTP/1.1' as const;
  readonly headers: IncomingHttpHeaders;
  private closeListener: DownstreamCloseListener | undefined;
  private done = false;
  private localReset = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    readonly localAddress: string,
    readonly remoteAddress: string,
    /** The original destination restored by original_dst (ORIGINAL_DST clusters connect to it). */
    readonly originalDst: string | undefined = undefined,
  ) {
    this.headers = toH2Headers(req);
    res.on('close', this.onResClose);
    req.on('error', noop);
    res.on('error', noop);
  }

  get body(): IncomingMessage {
    return this.req;
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  get closed(): boolean {
    return this.done || this.res.destroyed;
  }

  respond(headers: OutgoingHttpHeaders, endStream: boolean): void {
    if (this.closed) return;
    const status = Number(headers[':status'] ?? 200);
    const out: OutgoingHttpHeaders = {};
    for (const k in headers) {
      if (k.charCodeAt(0) !== 58 /* : */) out[k] = headers[k];
    }
    this.res.writeHead(status, out as Record<string, string | string[]>);
    if (endStream) this.res.end();
  }

  write(chunk: Buffer): boolean {
    if (this.closed) return true;
    return this.res.write(chunk);
  }

  onDrain(cb: () => void): void {
    this.res.once('drain', cb);
  }

  end(trailers: OutgoingHttpHeaders | undefined): void {
    if (this.closed) return;
    if (trailers && Object.keys(trailers).length && !this.res.hasHeader('content-length')) {
      this.res.addTrailers(trailers as Record<string, string>);
    }
    this.res.end();
  }

  reset(): void {
    if (this.closed) return;
    this.localReset = true;
    this.req.socket.destroy();
  }

  onClose(listener: DownstreamCloseListener): void {
    this.closeListener = listener;
  }

  private readonly onResClose = (): void => {
    if (this.done) return;
    this.done = true;
    const early = !this.res.writableFinished && !this.localReset;
    this.closeListener?.onDownstreamClose(early, early);
  };
}

/** HTTP/1.1 request head → HTTP/2-style header map (RFC 9113 §8.3.1). */
function toH2Headers(req: IncomingMessage): IncomingHttpHeaders {
  const h: IncomingHttpHeaders = {
    ':method': req.method ?? 'GET',
    ':path': req.url ?? '/',
    ':scheme': 'http',
    ':authority': req.headers.host ?? '',
  };
  const raw = req.headers;
  for (const k in raw) {
    if (k === 'host' || CONNECTION_SPECIFIC_HEADERS.has(k)) continue;
    h[k] = raw[k];
  }
  // Headers named by Connection are hop-by-hop too (RFC 9110 §7.6.1).
  const conn = raw.connection;
  if (conn) for (const name of String(conn).split(',')) delete h[name.trim().toLowerCase()];
  return h;
}

function noop(): void {}
