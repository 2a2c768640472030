/** Shared setup of the lb-*.test.ts integration tests: real grpc-js backends behind Legate. */
import type { Test } from 'tap';
import * as grpc from '@grpc/grpc-js';
import { startGrpcBackend, type GrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient, type EchoClient } from '../fakes/grpc-client';
import { freePort, startLegate, type LegateProcess } from '../fakes/legate-process';
import { bootstrapText } from './bootstrap-builder';

export interface LbSetup {
  readonly backends: GrpcBackend[];
  readonly proxy: LegateProcess;
  readonly client: EchoClient;
}

/** `names.length` echo backends (with grpc.health.v1) behind one cluster `svc` with `extra` cluster fields. */
export async function lbSetup(t: Test, names: readonly string[], extra: (backends: GrpcBackend[]) => Record<string, unknown>, routeExtra: Record<string, unknown> = {}, slowMs: Record<string, number> = {}): Promise<LbSetup> {
  const backends: GrpcBackend[] = [];
  for (const name of names) {
    const slow = slowMs[name];
    backends.push(await startGrpcBackend({ name, services: ['echo', 'health'], ...(slow ? { serverOptions: { interceptors: [sleepInterceptor(slow)] } } : {}) }));
  }
  t.teardown(async () => { for (const b of backends) await b.stop(100).catch(() => undefined); });
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort,
      listenerPort,
      clusters: [{ name: 'svc', endpoints: backends.map((b) => b.address), extra: extra(backends) }],
      routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: 'svc', ...routeExtra } }],
    }),
  });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  return { backends, proxy, client };
}

/** A socket_address endpoint entry for `host:port`. */
export function lbEndpoint(address: string, more: Record<string, unknown> = {}): Record<string, unknown> {
  const i = address.lastIndexOf(':');
  return { endpoint: { address: { socket_address: { address: address.slice(0, i), port_value: Number(address.slice(i + 1)) } } }, ...more };
}

/** Makes a backend slow: every Echo request it receives gets `sleep_ms` (the backend then sleeps that long). */
function sleepInterceptor(ms: number): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => next({
        onReceiveMessage: (message: { sleep_ms?: number }, nextMessage: (m: unknown) => void) => {
          if (message && typeof message === 'object' && 'sleep_ms' in message) message.sleep_ms = ms;
          nextMessage(message);
        },
      }),
    });
}
