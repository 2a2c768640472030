import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import net, { type Socket } from 'node:net';
import { logger } from '../common/logger';
import { H1Downstream } from '../http/downstream-h1';
import { H2Downstream } from '../http/downstream-h2';
import {
  admitHttp1Request, admitHttp2Stream, answerHttp1ClientError, guardHttp2Session, http1MaxHeadersCount, http1ServerOptions, http2ServerOptions,
} from '../http/downstream-limits';
import type { HttpConnectionManager } from '../http/connection-manager';
import type { ListenerModel } from '../snapshot/model';
import { formatAddress } from '../snapshot/model';
import { listenerCxLength, listenerStats, type Histogram } from '../stats';
import { sniffCodec } from './codec-sniffer';

const log = logger('connection');

/** Counters of one listener (`listener.<address>.*`). */
export interface ListenerStats {
  downstream_cx_total: number;
  downstream_cx_active: number;
  downstream_cx_destroy: number;
}

/**
 * A bound listener: accepts TCP connections, picks the codec (AUTO sniffs the
 * HTTP/2 preface) and hands each request to the current HTTP connection manager.
 * The manager is read per request, so a swapped-in config applies to new streams
 * while streams in flight keep theirs.
 */
export class Listener {
  /** `listener.<address>.*`, shared by every Listener on this address (stats live in the store by name). */
  readonly stats: ListenerStats;
  /** `listener.<address>.downstream_cx_length_ms`. */
  private readonly cxLength: Histogram;
  private readonly server: net.Server;
  private readonly h2: http2.Http2Server;
  private readonly h1: http.Server;
  private readonly sessions = new Set<Http2Session>();
  private readonly sockets = new Set<Socket>();
  private draining = false;
  private readonly retired = new Set<HttpConnectionManager>();
  boundAddress = '';

  constructor(readonly model: ListenerModel, public hcm: HttpConnectionManager) {
    this.stats = listenerStats(model.address);
    this.cxLength = listenerCxLength(model.address);
    const hm = hcm.model;
    this.h2 = http2.createServer(http2ServerOptions(hm));
    this.h2.on('session', this.onSession);
    this.h2.on('stream', this.onStream);
    this.h2.on('sessionError', (err) => log.debug(`listener ${model.name}: HTTP/2 session error: ${err.message}`));
    this.h1 = http.createServer(http1ServerOptions(hm));
    this.h1.maxHeadersCount = http1MaxHeadersCount(hm);
    this.h1.on('request', this.onRequest);
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      answerHttp1ClientError(err, socket, this.hcm.stats);
      log.debug(`listener ${model.name}: HTTP/1.1 client error: ${err.message}`);
    });
    this.server = net.createServer({ noDelay: true }, this.onConnection);
  }

  /** Binds the listener; rejects with a message naming the listener and address. */
  bind(): Promise<void> {
    const a = this.model.address;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
        reject(new Error(`listener "${this.model.name}": cannot bind to ${formatAddress(a)}: ${why}`));
      };
      this.server.once('error', onError);
      const done = (): void => {
        this.server.removeListener('error', onError);
        this.server.on('error', (err) => log.error(`listener ${this.model.name}: ${err.message}`));
        const addr = this.server.address();
        this.boundAddress = typeof addr === 'string' ? addr : addr ? formatAddress({ kind: 'tcp', host: addr.address, port: addr.port }) : '';
        resolve();
      };
      if (a.kind === 'pipe') this.server.listen(a.path, done);
      else this.server.listen({ host: a.host, port: a.port, backlog: 1024 }, done);
    });
  }

  /**
   * Graceful drain: stop accepting, tell HTTP/2 clients with a GOAWAY that admits no
   * new streams soon, and close HTTP/1.1 connections as their exchanges finish.
   */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.server.close();
    for (const s of this.sessions) {
      // Two-phase: a GOAWAY with the maximum stream id first (in-flight requests racing
      // with it still succeed), then Node's close() sends the final GOAWAY with the last id.
      if (!s.closed && !s.destroyed) s.goaway(http2.constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
    }
    setTimeout(() => {
      for (const s of this.sessions) if (!s.closed && !s.destroyed) s.close();
    }, Math.min(this.hcm.model.drainTimeoutMs, 1000)).unref();
    this.h1.closeIdleConnections();
  }

  /** Routes new streams to a new connection manager; streams in flight keep theirs. */
  swapConnectionManager(next: HttpConnectionManager): void {
    const prev = this.hcm;
    this.hcm = next;
    this.retired.add(prev);
    prev.retire();
    const check = setInterval(() => {
      if (prev.active.size === 0) {
        clearInterval(check);
        this.retired.delete(prev);
      }
    }, 1000);
    check.unref();
  }

  /** Streams in flight, on the current and on replaced connection managers. */
  get activeStreams(): number {
    let n = this.hcm.active.size;
    for (const h of this.retired) n += h.active.size;
    return n;
  }

  /** Number of open downstream connections. */
  get activeConnections(): number {
    return this.sockets.size;
  }

  /** Destroys every connection now. */
  close(): void {
    this.hcm.close();
    for (const h of this.retired) h.close();
    this.server.close();
    for (const s of this.sessions) s.destroy();
    for (const s of this.sockets) s.destroy();
  }

  private readonly onConnection = (socket: Socket): void => {
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.stats.downstream_cx_total++;
    this.stats.downstream_cx_active++;
    // The connection counts against the manager it starts with (`http.<stat_prefix>.downstream_cx_*`).
    const hs = this.hcm.stats;
    hs.downstream_cx_total++;
    hs.downstream_cx_active++;
    const openedAt = performance.now();
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.stats.downstream_cx_active--;
      this.stats.downstream_cx_destroy++;
      hs.downstream_cx_active--;
      hs.downstream_cx_destroy++;
      this.cxLength.record(performance.now() - openedAt);
    });
    socket.on('error', () => undefined);
    const codec = this.hcm.model.codec;
    if (codec === 'HTTP2') {
      hs.downstream_cx_http2_total++;
      this.h2.emit('connection', socket);
    } else if (codec === 'HTTP1') {
      hs.downstream_cx_http1_total++;
      this.h1.emit('connection', socket);
    } else {
      sniffCodec(socket, 10_000, (c) => {
        if (c === 'h2') {
          hs.downstream_cx_http2_total++;
          this.h2.emit('connection', socket);
        } else if (c === 'h1') {
          hs.downstream_cx_http1_total++;
          this.handOffHttp1(socket);
        }
      });
    }
  };

  /**
   * Node's HTTP/1.1 server normally reads straight from the socket's handle, which
   * would skip the bytes the sniffer already read and put back. Marking the handle
   * as consumed makes it parse from the stream instead, where those bytes wait.
   */
  private handOffHttp1(socket: Socket): void {
    const handle = (socket as unknown as { _handle?: { _consumed?: boolean } })._handle;
    if (handle) handle._consumed = true;
    this.h1.emit('connection', socket);
    socket.resume();
  }

  private readonly onSession = (session: Http2Session): void => {
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    session.on('error', () => undefined);
    guardHttp2Session(session as http2.ServerHttp2Session, this.currentHcm);
    const win = this.hcm.model.http2.initialConnectionWindowSize;
    try {
      session.setLocalWindowSize(Math.min(win, 2 ** 31 - 1));
    } catch {
      // The session closed before we could grow its window.
    }
    if (this.draining) session.close();
  };

  private readonly currentHcm = (): HttpConnectionManager => this.hcm;

  private readonly onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[] | undefined): void => {
    if (!admitHttp2Stream(stream, rawHeaders, this.currentHcm)) return;
    const ends = stream.session ? endsOf(stream.session) : NO_ENDS;
    const ds = new H2Downstream(stream, headers, ends.local, ends.remote);
    this.hcm.handle(ds);
  };

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (!admitHttp1Request(req, res, this.hcm.model, this.hcm.stats)) return;
    if (this.draining) res.setHeader('connection', 'close');
    const ds = new H1Downstream(req, res, localOf(req.socket), remoteOf(req.socket));
    this.hcm.handle(ds);
  };
}

const NO_ENDS = { local: '', remote: '' };
const sessionEnds = new WeakMap<Http2Session, { readonly local: string; readonly remote: string }>();

/** A session's addresses, formatted once per connection rather than per stream. */
function endsOf(session: Http2Session): { readonly local: string; readonly remote: string } {
  let ends = sessionEnds.get(session);
  if (!ends) {
    const sock = session.socket;
    ends = { local: localOf(sock), remote: remoteOf(sock) };
    sessionEnds.set(session, ends);
  }
  return ends;
}

function localOf(s: { localAddress?: string | undefined; localPort?: number | undefined } | undefined): string {
  return s?.localAddress ? formatAddress({ kind: 'tcp', host: unmap(s.localAddress), port: s.localPort ?? 0 }) : '';
}

function remoteOf(s: { remoteAddress?: string | undefined; remotePort?: number | undefined } | undefined): string {
  return s?.remoteAddress ? formatAddress({ kind: 'tcp', host: unmap(s.remoteAddress), port: s.remotePort ?? 0 }) : '';
}

/** "::ffff:10.0.0.1" (IPv4 on a dual-stack socket) → "10.0.0.1", as Envoy prints it. */
function unmap(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
