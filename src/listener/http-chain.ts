/**
 * An HTTP filter chain (terminal filter: http_connection_manager) of a listener: picks the codec
 * (AUTO sniffs the HTTP/2 preface) and hands each request to the chain's current connection
 * manager. The manager is read per request, so a swapped-in config applies to new streams while
 * streams in flight keep theirs.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type http2 from 'node:http2';
import type { Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { logger } from '../common/logger';
import type { HttpConnectionManager } from '../http/connection-manager';
import { H1Downstream } from '../http/downstream-h1';
import type { H2Downstream } from '../http/downstream-h2';
import {
  admitHttp1Request, admitHttp2Stream, answerHttp1ClientError, guardHttp2Session, http1MaxHeadersCount, http1ServerOptions, http2ServerOptions,
} from '../http/downstream-limits';
import { formatAddress } from '../snapshot/model';
import { overloadManager } from '../overload/overload-manager';
import { sniffCodec } from './codec-sniffer';
import type { ConnectionFacts } from './connection-facts';
import { FrameServerConnection, type ConnectionEnds } from './h2-frame-server';
import { USE_NODE_HTTP2 } from '../h2/core-choice';
import { ErrorCode } from '../h2/frames';

const log = logger('connection');

/** node:http2's downstream adapter (LEGATE_HTTP2_CORE=node only), loaded with the first such stream. */
let h2DownstreamClass: typeof H2Downstream | undefined;
function nodeH2Downstream(): typeof H2Downstream {
  return (h2DownstreamClass ??= (require('../http/downstream-h2') as typeof import('../http/downstream-h2')).H2Downstream);
}

/** A connection's addresses, formatted once when it is accepted (read through Node's HTTP/2 socket proxy too). */
type Ends = ConnectionEnds;
const kEnds = Symbol('legate.ends');
const NO_ENDS: Ends = { local: '', remote: '', originalDst: undefined };

function endsOf(socket: unknown): Ends {
  return ((socket as { [kEnds]?: Ends } | undefined)?.[kEnds]) ?? NO_ENDS;
}

export class HttpChain {
  /** node:http2's server (LEGATE_HTTP2_CORE=node only), made with the first connection it serves. */
  private h2: http2.Http2Server | undefined;
  private readonly listenerName: string;
  private readonly h1: http.Server;
  private readonly sessions = new Set<Http2Session>();
  private readonly frameConnections = new Set<FrameServerConnection>();
  private readonly retired = new Set<HttpConnectionManager>();
  private draining = false;

  constructor(public hcm: HttpConnectionManager, listenerName: string) {
    const hm = hcm.model;
    this.listenerName = listenerName;
    this.h1 = http.createServer(http1ServerOptions(hm));
    this.h1.maxHeadersCount = http1MaxHeadersCount(hm);
    this.h1.on('request', this.onRequest);
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      answerHttp1ClientError(err, socket, this.hcm.stats);
      log.debug(`listener ${listenerName}: HTTP/1.1 client error: ${err.message}`);
    });
  }

  /** Serves one connection (paused, with any peeked bytes put back) with this chain. */
  accept(socket: Socket, facts: ConnectionFacts): void {
    const local = facts.localHost ? formatAddress({ kind: 'tcp', host: facts.localHost, port: facts.localPort }) : '';
    const remote = facts.remoteHost ? formatAddress({ kind: 'tcp', host: facts.remoteHost, port: facts.remotePort }) : '';
    (socket as unknown as { [kEnds]: Ends })[kEnds] = { local, remote, originalDst: facts.localRestored ? local : undefined };
    // The connection counts against the manager it starts with (`http.<stat_prefix>.downstream_cx_*`).
    const hs = this.hcm.stats;
    hs.downstream_cx_total++;
    hs.downstream_cx_active++;
    socket.once('close', () => {
      hs.downstream_cx_active--;
      hs.downstream_cx_destroy++;
    });
    const codec = this.hcm.model.codec;
    // Node's HTTP/2 session reads the socket's handle itself, after taking any bytes put back
    // into the stream; HTTP/1.1 and the sniffer read the stream. The HTTP inspector may already know (h2c / http/1.x); otherwise sniff as codec AUTO does.
    const detected = facts.applicationProtocols[0];
    if (codec === 'HTTP2' || (codec === 'AUTO' && detected === 'h2c')) {
      hs.downstream_cx_http2_total++;
      this.serveHttp2(socket);
    } else if (codec === 'HTTP1' || (codec === 'AUTO' && (detected === 'http/1.1' || detected === 'http/1.0'))) {
      hs.downstream_cx_http1_total++;
      this.handOffHttp1(socket);
    } else {
      socket.resume();
      sniffCodec(socket, 10_000, (c) => {
        if (c === 'h2') {
          hs.downstream_cx_http2_total++;
          this.serveHttp2(socket);
        } else if (c === 'h1') {
          hs.downstream_cx_http1_total++;
          this.handOffHttp1(socket);
        }
      });
    }
  }

  private serveHttp2(socket: Socket): void {
    if (USE_NODE_HTTP2) {
      this.nodeHttp2Server().emit('connection', socket);
      return;
    }
    const conn = new FrameServerConnection(socket, this.currentHcm, endsOf(socket), this.forgetFrameConnection);
    this.frameConnections.add(conn);
    if (this.draining) conn.drain(0);
  }

  private nodeHttp2Server(): http2.Http2Server {
    if (this.h2 === undefined) {
      const nodeHttp2 = require('node:http2') as typeof http2;
      const server = nodeHttp2.createServer(http2ServerOptions(this.hcm.model));
      server.on('session', this.onSession);
      server.on('stream', this.onStream);
      server.on('sessionError', (err) => log.debug(`listener ${this.listenerName}: HTTP/2 session error: ${err.message}`));
      this.h2 = server;
    }
    return this.h2;
  }

  private readonly forgetFrameConnection = (conn: FrameServerConnection): void => {
    this.frameConnections.delete(conn);
  };

  /**
   * Graceful drain: tell HTTP/2 clients with a GOAWAY that admits no new streams soon, and close
   * HTTP/1.1 connections as their exchanges finish.
   */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    for (const s of this.sessions) {
      // Two-phase: a GOAWAY with the maximum stream id first (in-flight requests racing
      // with it still succeed), then Node's close() sends the final GOAWAY with the last id.
      if (!s.closed && !s.destroyed) s.goaway(ErrorCode.NO_ERROR, 2 ** 31 - 1);
    }
    setTimeout(() => {
      for (const s of this.sessions) if (!s.closed && !s.destroyed) s.close();
    }, Math.min(this.hcm.model.drainTimeoutMs, 1000)).unref();
    for (const c of this.frameConnections) c.drain(Math.min(this.hcm.model.drainTimeoutMs, 1000));
    this.h1.closeIdleConnections();
  }

  /** Routes new streams to a new connection manager; streams in flight keep theirs. */
  swapConnectionManager(next: HttpConnectionManager): void {
    const prev = this.hcm;
    if (prev === next) return;
    this.hcm = next;
    this.retired.add(prev);
    prev.retire();
    const check = setInterval(() => {
      if (prev.activeCount === 0) {
        clearInterval(check);
        this.retired.delete(prev);
      }
    }, 1000);
    check.unref();
  }

  /** Streams in flight, on the current and on replaced connection managers. */
  get activeStreams(): number {
    let n = this.hcm.activeCount;
    for (const h of this.retired) n += h.activeCount;
    return n;
  }

  /** Destroys every HTTP/2 session now (the listener destroys the sockets). */
  close(): void {
    this.hcm.close();
    for (const h of this.retired) h.close();
    for (const s of this.sessions) s.destroy();
    for (const c of this.frameConnections) c.destroy();
  }

  /**
   * Node's HTTP/1.1 server normally reads straight from the socket's handle, which
   * would skip the bytes a listener filter or the sniffer already read and put back. Marking
   * the handle as consumed makes it parse from the stream instead, where those bytes wait.
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
    // disable_http_keepalive: GOAWAY; the session finishes its streams and closes.
    if (overloadManager.disableKeepalive && stream.session && !stream.session.closed) stream.session.close();
    const ends = endsOf(stream.session?.socket);
    this.hcm.handle(new (nodeH2Downstream())(stream, headers, ends.local, ends.remote, ends.originalDst));
  };

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (!admitHttp1Request(req, res, this.hcm.model, this.hcm.stats)) return;
    if (this.draining || overloadManager.disableKeepalive) res.setHeader('connection', 'close');
    const ends = endsOf(req.socket);
    this.hcm.handle(new H1Downstream(req, res, ends.local, ends.remote, ends.originalDst));
  };
}
