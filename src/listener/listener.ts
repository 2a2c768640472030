import net, { type Socket } from 'node:net';
import { logger } from '../common/logger';
import { overloadManager } from '../overload/overload-manager';
import type { ListenerModel } from '../snapshot/model';
import { formatAddress } from '../snapshot/model';
import { listenerCxLength, listenerStats, type Histogram } from '../stats';
import type { ConnectionFacts } from './connection-facts';
import type { FilterChains } from './filter-chains';
import type { HttpChain } from './http-chain';
import { connectionFacts, runListenerFilters } from './listener-filters';
import { setTransparent } from './original-dst';

const log = logger('connection');

/** Counters of one listener (`listener.<address>.*`). */
export interface ListenerStats {
  downstream_cx_total: number;
  downstream_cx_active: number;
  downstream_cx_destroy: number;
  no_filter_chain_match: number;
  downstream_cx_overload_reject: number;
  downstream_global_cx_overflow: number;
  downstream_pre_cx_timeout: number;
}

/** Finds the listener for a restored original destination (use_original_dst hand-off). */
export type ListenerLookup = (host: string, port: number) => Listener | undefined;

/**
 * A listener: accepts TCP connections on its address (unless bind_to_port is false: then it is
 * only reached by a use_original_dst hand-off), runs its listener filters, hands a connection
 * whose original destination was restored to the listener of that address (use_original_dst),
 * and serves it with the filter chain that matches.
 */
export class Listener {
  /** `listener.<address>.*`, shared by every Listener on this address (stats live in the store by name). */
  readonly stats: ListenerStats;
  /** `listener.<address>.downstream_cx_length_ms`. */
  private readonly cxLength: Histogram;
  private readonly server: net.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private draining = false;
  /** HTTP chains dropped by an in-place update that still serve their connections. */
  private readonly retiredHttp = new Set<HttpChain>();
  boundAddress = '';

  constructor(public model: ListenerModel, private chains: FilterChains, private readonly lookup: ListenerLookup) {
    this.stats = listenerStats(model.address);
    this.cxLength = listenerCxLength(model.address);
    if (model.bindToPort) this.server = net.createServer({ noDelay: true }, this.onConnection);
  }

  /** Binds the listener; rejects with a message naming the listener and address. */
  bind(): Promise<void> {
    const a = this.model.address;
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
        reject(new Error(`listener "${this.model.name}": cannot bind to ${formatAddress(a)}: ${why}`));
      };
      server.once('error', onError);
      const done = (): void => {
        server.removeListener('error', onError);
        server.on('error', (err) => log.error(`listener ${this.model.name}: ${err.message}`));
        if (this.model.transparent && a.kind === 'tcp') {
          try {
            setTransparent(server, a.host.includes(':') ? 6 : 4);
          } catch (err) {
            server.close();
            reject(new Error(`listener "${this.model.name}": transparent: ${(err as Error).message}`));
            return;
          }
        }
        const addr = server.address();
        this.boundAddress = typeof addr === 'string' ? addr : addr ? formatAddress({ kind: 'tcp', host: addr.address, port: addr.port }) : '';
        resolve();
      };
      if (a.kind === 'pipe') server.listen(a.path, done);
      else server.listen({ host: a.host, port: a.port, backlog: 1024 }, done);
    });
  }

  /** A new config on the same socket: new connections use the new chains; connections on chains not reused drain. */
  update(model: ListenerModel, chains: FilterChains): void {
    const prev = this.chains;
    this.model = model;
    this.chains = chains;
    // Reused HTTP chains carry on (with the new connection manager); the others drain. Relayed
    // TCP connections of replaced tcp_proxy chains keep flowing until they close.
    for (const h of prev.drainExcept(chains)) {
      this.retiredHttp.add(h);
      const check = setInterval(() => {
        if (h.activeStreams === 0) {
          clearInterval(check);
          this.retiredHttp.delete(h);
        }
      }, 1000);
      check.unref();
    }
  }

  /**
   * Graceful drain: stop accepting, tell HTTP/2 clients with a GOAWAY that admits no
   * new streams soon, and close HTTP/1.1 connections as their exchanges finish.
   */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.server?.close();
    this.chains.drainExcept(undefined);
  }

  /** Streams in flight, on the current and on replaced chains. */
  get activeStreams(): number {
    let n = this.chains.activeStreams;
    for (const h of this.retiredHttp) n += h.activeStreams;
    return n;
  }

  /** Number of open downstream connections. */
  get activeConnections(): number {
    return this.sockets.size;
  }

  /** Destroys every connection now. */
  close(): void {
    this.server?.close();
    this.chains.close();
    for (const h of this.retiredHttp) h.close();
    for (const s of this.sockets) s.destroy();
  }

  private readonly onConnection = (socket: Socket): void => {
    if (this.draining) {
      socket.destroy();
      return;
    }
    socket.on('error', () => undefined);
    // The overload manager: stop_accepting_connections, then the global connection limit.
    if (overloadManager.stopAcceptingConnections) {
      this.stats.downstream_cx_overload_reject++;
      socket.destroy();
      return;
    }
    if (!overloadManager.tryAcceptConnection()) {
      this.stats.downstream_global_cx_overflow++;
      socket.destroy();
      return;
    }
    socket.once('close', releaseConnection);
    const facts = connectionFacts(socket);
    if (this.model.transparent) {
      // TPROXY: the accepted socket's local address is the original destination already.
      facts.localRestored = true;
    }
    this.accept(socket, facts, this.model.useOriginalDst);
  };

  /**
   * Runs this listener's filters on a connection (accepted here or handed off to us), then hands
   * it on (use_original_dst) or serves it.
   */
  accept(socket: Socket, facts: ConnectionFacts, handOff: boolean): void {
    runListenerFilters(socket, facts, this.model, (ok) => {
      if (!ok) return;
      if (handOff && facts.localRestored) {
        // Envoy: the listener bound to the original destination exactly, else 0.0.0.0:port
        // ([::]:port), takes it and runs its own listener filters; hand-off happens once.
        const target = this.lookup(facts.localHost, facts.localPort);
        if (target && target !== this) {
          target.accept(socket, facts, false);
          return;
        }
      }
      this.serve(socket, facts);
    }, this.onFiltersTimeout);
  }

  private readonly onFiltersTimeout = (): void => {
    this.stats.downstream_pre_cx_timeout++;
  };

  private serve(socket: Socket, facts: ConnectionFacts): void {
    if (facts.transportProtocol === '') facts.transportProtocol = 'raw_buffer';
    const chain = this.chains.select(facts);
    if (!chain || this.draining) {
      if (!chain) {
        this.stats.no_filter_chain_match++;
        log.debug(`listener ${this.model.name}: no filter chain matches ${facts.remoteHost}:${facts.remotePort} → ${facts.localHost}:${facts.localPort}; closing`);
      }
      socket.destroy();
      return;
    }
    this.stats.downstream_cx_total++;
    this.stats.downstream_cx_active++;
    const openedAt = performance.now();
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.stats.downstream_cx_active--;
      this.stats.downstream_cx_destroy++;
      this.cxLength.record(performance.now() - openedAt);
    });
    if (chain.kind === 'http') chain.http.accept(socket, facts);
    else chain.tcp.accept(socket, facts);
  }
}

function releaseConnection(): void {
  overloadManager.releaseConnection();
}
