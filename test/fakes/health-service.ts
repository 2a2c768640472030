/**
 * A switchable `grpc.health.v1.Health` implementation (protos/grpc_health_v1.proto),
 * for exercising Legate's gRPC active health checker.
 */
import * as grpc from '@grpc/grpc-js';
import { pauseUnlessCancelled } from './metadata-util';
import type { HealthCheckRequest, HealthCheckResponse, ServingStatus } from './test-services';

/**
 * Per-service serving status plus the Check/Watch handlers that report it.
 * A service name that was never set (or was set to `SERVICE_UNKNOWN`) is unknown:
 * Check fails with NOT_FOUND, Watch reports `SERVICE_UNKNOWN`.
 */
export class HealthState {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<(status: ServingStatus) => void>>();
  private checkDelayMs = 0;

  /** Services registered as `SERVING` from the start (e.g. `''` and full service names). */
  constructor(initiallyServing: Iterable<string> = []) {
    for (const service of initiallyServing) this.statuses.set(service, 'SERVING');
  }

  /** Current status of `service`; `SERVICE_UNKNOWN` when it is not registered. */
  get(service: string): ServingStatus {
    return this.statuses.get(service) ?? 'SERVICE_UNKNOWN';
  }

  /**
   * Set the status of `service` (`''` = whole server) and notify its watchers.
   * `SERVICE_UNKNOWN` unregisters the name.
   */
  set(service: string, status: ServingStatus): void {
    if (status === 'SERVICE_UNKNOWN') this.statuses.delete(service);
    else this.statuses.set(service, status);
    for (const notify of this.watchers.get(service) ?? []) notify(status);
  }

  /** Make every Check wait `ms` before answering (0 = answer at once), to provoke health-check timeouts. */
  setCheckDelay(ms: number): void {
    this.checkDelayMs = ms;
  }

  /** Check and Watch handlers bound to this state. */
  handlers(): grpc.UntypedServiceImplementation {
    const check = async (
      call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: grpc.sendUnaryData<HealthCheckResponse>,
    ): Promise<void> => {
      if (!(await pauseUnlessCancelled(this.checkDelayMs, call))) return;
      const status = this.statuses.get(call.request.service);
      if (status === undefined) {
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service '${call.request.service}'` });
      } else {
        callback(null, { status });
      }
    };
    const watch = (call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>): void => {
      const service = call.request.service;
      let lastSent: ServingStatus | undefined;
      const send = (status: ServingStatus): void => {
        if (status === lastSent) return;
        lastSent = status;
        call.write({ status });
      };
      let set = this.watchers.get(service);
      if (set === undefined) {
        set = new Set();
        this.watchers.set(service, set);
      }
      const watchers = set;
      watchers.add(send);
      const stop = (): void => {
        watchers.delete(send);
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
      send(this.get(service));
    };
    return { Check: check, Watch: watch } as grpc.UntypedServiceImplementation;
  }
}
