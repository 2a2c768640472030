/**
 * `envoy.filters.network.tcp_proxy`: the connection is relayed byte for byte to a host of the
 * chosen cluster (weighted_clusters pick per connection). The downstream is not read until the
 * upstream connects (Envoy's readDisable); half-closes travel both ways; `idle_timeout` closes a
 * connection with no bytes either way. No host (BlackHoleCluster, nothing healthy) or a failed
 * connect closes the downstream connection.
 */
import net, { type Socket } from 'node:net';
import { logger } from '../common/logger';
import { formatAddress, type TcpProxyModel } from '../snapshot/model';
import { tcpProxyStats } from '../stats';
import type { ClusterManager } from '../upstream/cluster-manager';
import { tcpConnectOptions } from '../upstream/host';
import type { ConnectionFacts } from './connection-facts';

const log = logger('connection');

export class TcpProxy {
  readonly stats: ReturnType<typeof tcpProxyStats>;
  private readonly totalWeight: number;
  private readonly open = new Set<Socket>();

  constructor(readonly model: TcpProxyModel, private readonly clusters: ClusterManager) {
    this.stats = tcpProxyStats(model.statPrefix);
    this.totalWeight = model.clusters.reduce((n, c) => n + c.weight, 0);
  }

  get activeConnections(): number {
    return this.open.size;
  }

  /** Relays one downstream connection (paused, with any peeked bytes put back). */
  accept(downstream: Socket, facts: ConnectionFacts): void {
    const s = this.stats;
    s.downstream_cx_total++;
    const clusterName = this.pickClusterName();
    const cluster = this.clusters.get(clusterName);
    if (!cluster) {
      s.downstream_cx_no_route++;
      log.debug(`tcp_proxy ${this.model.statPrefix}: unknown cluster "${clusterName}"; closing`);
      downstream.destroy();
      return;
    }
    const dst = facts.localRestored ? formatAddress({ kind: 'tcp', host: facts.localHost, port: facts.localPort }) : undefined;
    const host = cluster.originalDst ? cluster.originalDst.pick(dst) : cluster.pick();
    if (!host) {
      cluster.stats.upstream_cx_none_healthy++;
      log.debug(`tcp_proxy ${this.model.statPrefix}: no healthy upstream in cluster "${clusterName}"; closing`);
      downstream.destroy();
      return;
    }
    host.stats.cx_total++;
    downstream.allowHalfOpen = true;
    this.open.add(downstream);
    const upstream = net.connect({ ...tcpConnectOptions(host, cluster.model), allowHalfOpen: true, noDelay: true });
    let connected = false;
    const connectTimer = setTimeout(() => {
      if (!connected) upstream.destroy(new Error('connection timeout'));
    }, Math.max(1, cluster.model.connectTimeoutMs));
    connectTimer.unref();
    upstream.once('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      host.stats.cx_active++;
      downstream.on('data', (chunk: Buffer) => {
        s.downstream_cx_rx_bytes_total += chunk.length;
        host.stats.cx_tx_bytes_total += chunk.length;
      });
      upstream.on('data', (chunk: Buffer) => {
        s.downstream_cx_tx_bytes_total += chunk.length;
        host.stats.cx_rx_bytes_total += chunk.length;
      });
      downstream.pipe(upstream);
      upstream.pipe(downstream);
      downstream.resume();
    });
    upstream.on('error', (err) => {
      if (!connected) {
        host.stats.cx_connect_fail++;
        log.debug(`tcp_proxy ${this.model.statPrefix}: connect to ${host.key} failed: ${err.message}`);
      }
      downstream.destroy();
    });
    upstream.once('close', () => {
      clearTimeout(connectTimer);
      if (connected) host.stats.cx_active--;
      // After a clean close the pipe has already ended the downstream; flush and finish.
      if (!downstream.destroyed) downstream.end();
    });
    downstream.on('error', () => upstream.destroy());
    downstream.once('close', () => {
      this.open.delete(downstream);
      if (!upstream.destroyed) upstream.end();
      if (timers.idle) clearTimeout(timers.idle);
      if (timers.max) clearTimeout(timers.max);
    });
    const timers: { idle?: NodeJS.Timeout; max?: NodeJS.Timeout } = {};
    if (this.model.idleTimeoutMs > 0) {
      // Socket timeouts count reads and writes; bytes either way pass through the downstream socket.
      downstream.setTimeout(this.model.idleTimeoutMs, () => {
        s.idle_timeout++;
        upstream.destroy();
        downstream.destroy();
      });
    }
    if (this.model.maxDownstreamConnectionDurationMs > 0) {
      timers.max = setTimeout(() => {
        s.max_downstream_connection_duration++;
        upstream.destroy();
        downstream.destroy();
      }, this.model.maxDownstreamConnectionDurationMs);
      timers.max.unref();
    }
  }

  /** Closes every relayed connection now. */
  close(): void {
    for (const s of this.open) s.destroy();
  }

  private pickClusterName(): string {
    const list = this.model.clusters;
    if (list.length === 1) return list[0]!.name;
    let r = Math.random() * this.totalWeight;
    for (const c of list) {
      r -= c.weight;
      if (r < 0) return c.name;
    }
    return list[list.length - 1]!.name;
  }
}
