/**
 * Runs a listener's listener filters on a new connection, in order, as Envoy's ActiveTcpSocket
 * does: original_dst restores the local address; tls_inspector and http_inspector peek at the
 * first bytes (they are put back for the chain that serves the connection). A filter whose
 * `filter_disabled` matches the connection is skipped. `listener_filters_timeout` bounds the
 * peeking: on expiry the connection continues with what is known
 * (`continue_on_listener_filters_timeout`) or is closed.
 */
import type { Socket } from 'node:net';
import { parseIpBits, unmapIpv4 } from '../common/ip-bits';
import { logger } from '../common/logger';
import type { ListenerFilterModel, ListenerFilterPredicateModel, ListenerModel } from '../snapshot/model';
import type { ConnectionFacts } from './connection-facts';
import { inspectHttp, inspectTls } from './inspectors';
import { readOriginalDst } from './original-dst';

const log = logger('connection');

/** The facts of a freshly accepted socket (before any listener filter). */
export function connectionFacts(socket: Socket): ConnectionFacts {
  const localHost = unmapIpv4(socket.localAddress ?? '');
  const remoteHost = unmapIpv4(socket.remoteAddress ?? '');
  return {
    localHost,
    localPort: socket.localPort ?? 0,
    localIp: parseIpBits(localHost),
    localRestored: false,
    remoteHost,
    remotePort: socket.remotePort ?? 0,
    remoteIp: parseIpBits(remoteHost),
    serverName: '',
    transportProtocol: '',
    applicationProtocols: [],
  };
}

/**
 * Runs `listener`'s filters; calls `done(true)` when the connection may go on (the socket
 * paused, peeked bytes put back), `done(false)` when it was closed (timeout, peer gone).
 * `onTimeout` runs when listener_filters_timeout expires (`downstream_pre_cx_timeout`).
 */
export function runListenerFilters(socket: Socket, facts: ConnectionFacts, listener: ListenerModel, done: (ok: boolean) => void, onTimeout?: () => void): void {
  const filters = listener.listenerFilters;
  let i = 0;
  let buf: Buffer = Buffer.alloc(0);
  let reading = false;
  let finished = false;
  let timer: NodeJS.Timeout | undefined;

  const finish = (ok: boolean): void => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    if (reading) {
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onClose);
      socket.pause();
      if (buf.length) socket.unshift(buf);
    }
    if (!ok) socket.destroy();
    done(ok);
  };

  /** Runs filters from `i` until one needs more bytes or all are done. */
  const advance = (eof: boolean): void => {
    while (i < filters.length) {
      const f = filters[i]!;
      if (f.disabled && predicateMatches(f.disabled, facts.localPort)) {
        i++;
        continue;
      }
      if (f.kind === 'original_dst') {
        restoreOriginalDst(socket, facts, listener);
        i++;
        continue;
      }
      if (!peek(f, eof)) {
        if (eof) i++; // the peer sent all it will before we could decide: go on without it
        else {
          startReading();
          return;
        }
      } else i++;
    }
    finish(true);
  };

  /** One inspector on the bytes so far; false while it needs more. */
  const peek = (f: ListenerFilterModel, eof: boolean): boolean => {
    if (f.kind === 'tls_inspector') {
      const r = inspectTls(buf);
      if (!r.done) return eof;
      if (r.result) {
        facts.transportProtocol = 'tls';
        facts.serverName = r.result.serverName;
        facts.applicationProtocols = r.result.alpn;
      }
      return true;
    }
    // http_inspector: only on plaintext (Envoy skips it once a transport protocol other than raw_buffer is known).
    if (facts.transportProtocol !== '' && facts.transportProtocol !== 'raw_buffer') return true;
    const r = inspectHttp(buf);
    if (!r.done) return eof;
    if (r.result) facts.applicationProtocols = [r.result];
    return true;
  };

  const onData = (chunk: Buffer): void => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    advance(false);
  };
  const onEnd = (): void => advance(true);
  const onClose = (): void => finish(false);

  const startReading = (): void => {
    if (reading) return;
    reading = true;
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onClose);
    // A connection handed off by a listener that peeked already is paused, its bytes put back.
    socket.resume();
    const timeoutMs = listener.listenerFiltersTimeoutMs;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        onTimeout?.();
        if (listener.continueOnListenerFiltersTimeout) {
          log.debug(`listener ${listener.name}: listener filters timed out; continuing`);
          i = filters.length;
          finish(true);
        } else {
          log.debug(`listener ${listener.name}: listener filters timed out; closing`);
          finish(false);
        }
      }, timeoutMs);
      timer.unref();
    }
  };

  advance(false);
}

/**
 * original_dst: the local address becomes the original destination. A transparent (TPROXY)
 * listener's socket already has it; otherwise SO_ORIGINAL_DST says where a REDIRECTed
 * connection was going (nothing, when it was not redirected).
 */
function restoreOriginalDst(socket: Socket, facts: ConnectionFacts, listener: ListenerModel): void {
  if (listener.transparent) {
    facts.localRestored = true;
    return;
  }
  let dst: { host: string; port: number } | undefined;
  try {
    dst = readOriginalDst(socket);
  } catch (err) {
    log.error(`listener ${listener.name}: cannot read the original destination: ${(err as Error).message}`);
    return;
  }
  if (!dst) return;
  facts.localHost = unmapIpv4(dst.host);
  facts.localPort = dst.port;
  facts.localIp = parseIpBits(facts.localHost);
  facts.localRestored = true;
}

function predicateMatches(p: ListenerFilterPredicateModel, port: number): boolean {
  switch (p.kind) {
    case 'any': return true;
    case 'destination_port_range': return port >= p.start && port < p.end;
    case 'not': return !predicateMatches(p.rule, port);
    case 'or': return p.rules.some((r) => predicateMatches(r, port));
    case 'and': return p.rules.every((r) => predicateMatches(r, port));
  }
}
