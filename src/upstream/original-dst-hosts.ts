/**
 * The hosts of an ORIGINAL_DST cluster (Envoy's OriginalDstCluster): none configured; each
 * request or connection goes to where the downstream connection was originally going (its local
 * address as restored by original_dst), or to the address in `x-envoy-original-dst-host` with
 * `use_http_header`. A host is created on first use and kept while used; every
 * `cleanup_interval` the hosts unused since the last sweep are removed (connections drain).
 */
import type { IncomingHttpHeaders } from 'node:http2';
import { isIP } from 'node:net';
import type { ClusterModel, EndpointModel, OriginalDstConfigModel, SocketAddress } from '../snapshot/model';
import { DEFAULT_ASSIGNMENT_POLICY, formatAddress } from '../snapshot/model';
import { Host } from './host';

const NO_LOCALITY = Object.freeze({ region: '', zone: '', subZone: '' });

export class OriginalDstHosts {
  private readonly hosts = new Map<string, { host: Host; used: boolean }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly model: () => ClusterModel, private readonly config: OriginalDstConfigModel) {}

  /**
   * The host for a connection whose original destination is `originalDst` ("ip:port", undefined
   * when it was not restored: then there is no host, as in Envoy, so a proxy never connects back
   * to its own listener).
   */
  pick(originalDst: string | undefined, headers?: IncomingHttpHeaders): Host | undefined {
    let target: SocketAddress | undefined;
    if (this.config.useHttpHeader && headers) {
      const v = headers[this.config.httpHeaderName];
      if (typeof v === 'string') target = parseHostPort(v.trim());
    }
    if (!target && originalDst) target = parseHostPort(originalDst);
    if (!target || target.kind !== 'tcp' || this.stopped) return undefined;
    if (this.config.portOverride !== undefined) target = { kind: 'tcp', host: target.host, port: this.config.portOverride };
    const key = formatAddress(target);
    let entry = this.hosts.get(key);
    if (!entry) {
      entry = { host: new Host(target, endpointFor(target), this.model()), used: true };
      this.hosts.set(key, entry);
      this.armCleanup();
    }
    entry.used = true;
    return entry.host;
  }

  all(): Host[] {
    return [...this.hosts.values()].map((e) => e.host);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const e of this.hosts.values()) e.host.drain();
  }

  private armCleanup(): void {
    if (this.timer || this.config.cleanupIntervalMs <= 0) return;
    this.timer = setInterval(() => this.cleanup(), this.config.cleanupIntervalMs);
    this.timer.unref();
  }

  /** Removes the hosts not used since the last sweep (Envoy's OriginalDstCluster::cleanup). */
  private cleanup(): void {
    for (const [key, e] of this.hosts) {
      if (e.used || e.host.stats.rq_active > 0 || e.host.stats.cx_active > 0) {
        e.used = false;
        continue;
      }
      this.hosts.delete(key);
      e.host.drain();
    }
    if (this.hosts.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

/** "10.0.0.1:80" or "[::1]:80"; undefined unless an IP literal and a port. */
function parseHostPort(s: string): SocketAddress | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (isIP(m[1]!) === 0 || port < 1 || port > 65535) return undefined;
  return { kind: 'tcp', host: m[1]!, port };
}

function endpointFor(address: SocketAddress): EndpointModel {
  return {
    address,
    hostname: '',
    weight: 1,
    priority: 0,
    healthStatus: 'UNKNOWN',
    locality: NO_LOCALITY,
    transportSocketMatchMetadata: {},
    localityWeight: 0,
    hashKey: '',
    assignmentPolicy: DEFAULT_ASSIGNMENT_POLICY,
  };
}
