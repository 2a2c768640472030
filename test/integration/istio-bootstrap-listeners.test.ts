/**
 * Istio's bootstrap declares two listeners of its own (issue #6): 15090 serves
 * `/stats/prometheus` by routing to the `prometheus_stats` cluster (Envoy's own admin port), and
 * 15021 serves `/healthz/ready` by routing to the `agent` cluster (pilot-agent on 15020).
 * Here the golden bootstrap runs with its ports moved to free ones, its ADS section removed
 * (no control plane), and a real HTTP server standing in for pilot-agent.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { fixturesDir } from '../fixtures-dir';
import { freePort, startLegate } from '../fakes/legate-process';

t.test('Istio default bootstrap: 15090 /stats/prometheus and 15021 /healthz/ready', async (t) => {
  const agentHits: string[] = [];
  const agentServer = http.createServer((req, res) => {
    agentHits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('agent ready\n');
  });
  await new Promise<void>((r) => agentServer.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { agentServer.closeAllConnections(); agentServer.close(() => r()); }));
  const agentPort = (agentServer.address() as { port: number }).port;

  const [adminPort, promPort, statusPort] = [await freePort(), await freePort(), await freePort()];
  const text = fs.readFileSync(path.join(fixturesDir(), 'istio-bootstrap', 'default_golden.json'), 'utf8')
    .replace(/"port_value": 15000/g, `"port_value": ${adminPort}`)
    .replace(/"port_value": 15090/g, `"port_value": ${promPort}`)
    .replace(/"port_value": 15021/g, `"port_value": ${statusPort}`)
    .replace(/"port_value": 15020/g, `"port_value": ${agentPort}`);
  const cfg = JSON.parse(text) as Record<string, unknown>;
  delete cfg['dynamic_resources'];
  const proxy = await startLegate({ configYaml: JSON.stringify(cfg), readyTimeoutMs: 45_000 });
  t.teardown(() => proxy.stop());
  const agent = new Agent();
  const get = async (port: number, p: string): Promise<{ status: number; body: string }> => {
    const r = await request(`http://127.0.0.1:${port}${p}`, { dispatcher: agent });
    return { status: r.statusCode, body: await r.body.text() };
  };

  const listeners = (await proxy.admin('/listeners')).body;
  t.match(listeners, `0.0.0.0_15090::0.0.0.0:${promPort}`);
  t.match(listeners, `0.0.0.0_15021::0.0.0.0:${statusPort}`);

  const prom = await get(promPort, '/stats/prometheus');
  t.equal(prom.status, 200, '15090 answers /stats/prometheus');
  t.match(prom.body, /^# TYPE envoy_\w+ (counter|gauge|histogram)$/m, 'with Envoy metrics from the admin port');
  t.match(prom.body, /envoy_server_live\{\} 1|envoy_server_live 1/);
  t.equal((await get(promPort, '/stats')).status, 404, 'only /stats/prometheus is routed');

  const ready = await get(statusPort, '/healthz/ready');
  t.same(ready, { status: 200, body: 'agent ready\n' }, '15021 /healthz/ready reaches the agent');
  t.same(agentHits, ['/healthz/ready']);
  t.equal((await get(statusPort, '/other')).status, 404);
  await agent.close();
});
