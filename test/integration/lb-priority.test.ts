/**
 * Priorities with real backends: P0 takes all traffic while healthy; when its only host fails
 * active health checks, P1 takes over (overprovisioning factor 1.4), and P0 gets it back.
 * Also EDS-style health_status on STATIC endpoints: an UNHEALTHY P0 host fails over at once.
 */
import t from 'tap';
import type { EchoClient } from '../fakes/grpc-client';
import { lbEndpoint, lbSetup } from './lb-helpers';

const FAST_HC = { timeout: '0.3s', interval: '0.1s', no_traffic_interval: '0.1s', unhealthy_threshold: 1, healthy_threshold: 1, grpc_health_check: {} };

async function spread(client: EchoClient, n: number): Promise<Record<string, number>> {
  const served: Record<string, number> = {};
  for (const r of await Promise.all(Array.from({ length: n }, () => client.unary({ payload: Buffer.from('x') })))) {
    served[r.response.backend] = (served[r.response.backend] ?? 0) + 1;
  }
  return served;
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

t.test('P0 fails its health checks → traffic fails over to P1, and comes back', async (t) => {
  const { backends, client } = await lbSetup(t, ['p0', 'p1'], (b) => ({
    health_checks: [FAST_HC],
    load_assignment: {
      cluster_name: 'svc',
      endpoints: [
        { priority: 0, lb_endpoints: [lbEndpoint(b[0]!.address)] },
        { priority: 1, lb_endpoints: [lbEndpoint(b[1]!.address)] },
      ],
    },
  }));
  t.same(await spread(client, 50), { p0: 50 }, 'healthy P0 takes everything');
  backends[0]!.setHealth('', 'NOT_SERVING');
  await waitFor('failover to P1', async () => (await spread(client, 5))['p1'] === 5);
  t.same(await spread(client, 50), { p1: 50 }, 'P0 has no healthy host: all to P1');
  backends[0]!.setHealth('', 'SERVING');
  await waitFor('P0 back', async () => (await spread(client, 5))['p0'] === 5);
  t.same(await spread(client, 50), { p0: 50 });
});

t.test('health_status UNHEALTHY on the only P0 endpoint sends everything to P1', async (t) => {
  const { client } = await lbSetup(t, ['p0', 'p1'], (b) => ({
    load_assignment: {
      cluster_name: 'svc',
      endpoints: [
        { priority: 0, lb_endpoints: [lbEndpoint(b[0]!.address, { health_status: 'UNHEALTHY' })] },
        { priority: 1, lb_endpoints: [lbEndpoint(b[1]!.address)] },
      ],
    },
  }));
  t.same(await spread(client, 40), { p1: 40 });
});

t.test('P0 half healthy (1 of 2) → about 70% P0, 30% P1', async (t) => {
  const { client } = await lbSetup(t, ['p0a', 'p0b', 'p1'], (b) => ({
    load_assignment: {
      cluster_name: 'svc',
      endpoints: [
        { priority: 0, lb_endpoints: [lbEndpoint(b[0]!.address), lbEndpoint(b[1]!.address, { health_status: 'UNHEALTHY' })] },
        { priority: 1, lb_endpoints: [lbEndpoint(b[2]!.address)] },
      ],
    },
  }));
  const served = await spread(client, 1000);
  t.equal(served['p0b'], undefined, 'the unhealthy host gets nothing');
  const p0 = (served['p0a'] ?? 0) / 1000;
  t.ok(p0 > 0.64 && p0 < 0.76, `P0 got ${(p0 * 100).toFixed(1)}% (70% expected)`);
});
