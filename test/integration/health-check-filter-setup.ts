/** Shared by the health_check filter tests: a proxy with the filter in front of an HTTP/1.1 backend. */
import type { Test } from 'tap';
import { Agent, request } from 'undici';
import { startH1Backend, type H1Backend } from '../fakes/h1-backend';
import { freePort, startLegate, type LegateProcess } from '../fakes/legate-process';
import { bootstrapJson, type TestCluster } from './bootstrap-builder';

export const HC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck';
export const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

export interface Setup {
  proxy: LegateProcess;
  backend: H1Backend;
  url: string;
  get: (path: string, headers?: Record<string, string>) => Promise<{ status: number; headers: Record<string, unknown> }>;
  /** Closes the client connections, then stops the proxy (also done at teardown). */
  stop: () => Promise<void>;
}

const LOG = (prefix: string, filter?: Record<string, unknown>): Record<string, unknown> => ({
  name: 'envoy.access_loggers.stdout',
  ...(filter ? { filter } : {}),
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
    log_format: { text_format_source: { inline_string: `${prefix} %REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\n` } },
  },
});

export async function setup(t: Test, hcConfig: Record<string, unknown>, clusters: TestCluster[] = []): Promise<Setup> {
  const backend = await startH1Backend({ name: 'app' });
  t.teardown(() => backend.stop());
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const cfg = bootstrapJson({
    adminPort, listenerPort,
    clusters: [{ name: 'app', endpoints: [backend.address], http2: false }, ...clusters],
    hcmExtra: {
      http_filters: [{ name: 'envoy.filters.http.health_check', typed_config: { '@type': HC_TYPE, ...hcConfig } }, ROUTER],
      access_log: [LOG('LOG', { not_health_check_filter: {} }), LOG('ALL')],
    },
  });
  (cfg as { node?: unknown }).node = { id: 'n1', cluster: 'local-svc' };
  const proxy = await startLegate({ configYaml: JSON.stringify(cfg), readyTimeoutMs: 45_000 });
  // Our own connection pool, closed before the proxy stops (keep-alive would hold its drain).
  const agent = new Agent();
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= (async () => {
    await agent.close();
    await proxy.stop();
  })());
  t.teardown(stop);
  const url = `http://127.0.0.1:${listenerPort}`;
  const get = async (path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown> }> => {
    const r = await request(`${url}${path}`, { dispatcher: agent, headers });
    await r.body.dump();
    return { status: r.statusCode, headers: r.headers };
  };
  return { proxy, backend, url, get, stop };
}

