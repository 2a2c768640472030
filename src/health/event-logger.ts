/**
 * Envoy's health-check event log (`event_log_path` / the `HealthCheckEventFileSink` event_logger):
 * one `envoy.data.core.v3.HealthCheckEvent` per line, in proto JSON with primitive fields printed,
 * as `HealthCheckEventLoggerImpl` writes them (source/common/upstream/health_checker_event_logger.cc).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { logger } from '../common/logger';
import type { FailureType, HealthCheckedHost } from './types';

const log = logger('hc');

export type HealthCheckerType = 'HTTP' | 'TCP' | 'GRPC';

export class HealthEventLogger {
  private readonly streams: WriteStream[];

  constructor(paths: readonly string[], private readonly clusterName: string, private readonly type: HealthCheckerType, private readonly now: () => Date = () => new Date()) {
    this.streams = paths.map((p) => {
      const s = createWriteStream(p, { flags: 'a' });
      s.on('error', (err) => log.error(`health check event log ${p}: ${err.message}`));
      return s;
    });
  }

  ejectUnhealthy(host: HealthCheckedHost, failureType: FailureType): void {
    this.write(host, { eject_unhealthy_event: { failure_type: failureType } });
  }

  addHealthy(host: HealthCheckedHost, firstCheck: boolean): void {
    this.write(host, { add_healthy_event: { first_check: firstCheck } });
  }

  unhealthy(host: HealthCheckedHost, failureType: FailureType, firstCheck: boolean): void {
    this.write(host, { health_check_failure_event: { failure_type: failureType, first_check: firstCheck } });
  }

  degraded(host: HealthCheckedHost): void {
    this.write(host, { degraded_healthy_host: {} });
  }

  noLongerDegraded(host: HealthCheckedHost): void {
    this.write(host, { no_longer_degraded_host: {} });
  }

  successfulCheck(host: HealthCheckedHost): void {
    this.write(host, { successful_health_check_event: {} });
  }

  close(): void {
    for (const s of this.streams) s.end();
  }

  private write(host: HealthCheckedHost, event: Record<string, unknown>): void {
    const a = host.address;
    const address = a.kind === 'tcp'
      ? { socket_address: { protocol: 'TCP', address: a.host, resolver_name: '', ipv4_compat: false, port_value: a.port } }
      : { pipe: { path: a.path, mode: 0 } };
    const line = JSON.stringify({ health_checker_type: this.type, host: address, cluster_name: this.clusterName, ...event, timestamp: this.now().toISOString() }) + '\n';
    for (const s of this.streams) s.write(line);
  }
}
