/**
 * The admin API beyond readiness (issue #6 item 3): /help and the HTML home page, /listeners,
 * /logging, /runtime, /runtime_modify, /memory, /certs, /reset_counters and /drain_listeners,
 * against the real binary over real sockets.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { startH1Backend } from '../fakes/h1-backend';
import { freePort, startLegate } from '../fakes/legate-process';
import { bootstrapJson } from './bootstrap-builder';

const ENDPOINTS = [
  '/', '/certs', '/clusters', '/config_dump', '/drain_listeners', '/healthcheck/fail', '/healthcheck/ok', '/help',
  '/listeners', '/logging', '/memory', '/quitquitquit', '/ready', '/reopen_logs', '/reset_counters', '/runtime', '/runtime_modify',
  '/server_info', '/stats', '/stats/prometheus',
];
const MUTATING = ['/drain_listeners', '/healthcheck/fail', '/healthcheck/ok', '/logging', '/quitquitquit', '/reopen_logs', '/reset_counters', '/runtime_modify'];

/** True when a TCP connection to the port is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

t.test('admin endpoints', async (t) => {
  const backend = await startH1Backend();
  t.teardown(() => backend.stop());
  const adminPort = await freePort();
  const outboundPort = await freePort();
  const inboundPort = await freePort();
  const cfg = bootstrapJson({ adminPort, listenerPort: outboundPort, clusters: [{ name: 'app', endpoints: [backend.address], http2: false }] }) as { static_resources: { listeners: Array<Record<string, unknown>> } };
  const outbound = cfg.static_resources.listeners[0]!;
  outbound['traffic_direction'] = 'OUTBOUND';
  const inbound = JSON.parse(JSON.stringify(outbound)) as Record<string, unknown>;
  inbound['name'] = 'inbound_listener';
  inbound['traffic_direction'] = 'INBOUND';
  (inbound['address'] as { socket_address: { port_value: number } }).socket_address.port_value = inboundPort;
  cfg.static_resources.listeners.push(inbound);
  const proxy = await startLegate({ configYaml: JSON.stringify(cfg), readyTimeoutMs: 45_000 });
  t.teardown(() => proxy.stop());

  t.test('/help lists every endpoint; / is an HTML page with links and POST buttons', async (t) => {
    const help = await proxy.admin('/help');
    t.equal(help.status, 200);
    const paths = help.body.split('\n').filter((l) => l.startsWith('  /')).map((l) => l.trim().split(':')[0]);
    t.same(paths, ENDPOINTS, 'sorted, one line each');
    const home = await proxy.admin('/');
    t.equal(home.status, 200);
    t.match(home.body, /^<!doctype html>/);
    for (const p of ENDPOINTS.filter((x) => x !== '/')) {
      if (MUTATING.includes(p)) t.match(home.body, `<form action="${p}" method="post">`, `${p} is a POST button`);
      else t.match(home.body, `<a href="${p}">`, `${p} is a link`);
    }
    const unknown = await proxy.admin('/nope');
    t.equal(unknown.status, 404);
    t.match(unknown.body, /^invalid path\. admin commands are:/);
  });

  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => fs.existsSync(p));
  t.test('the home page renders in a headless browser', { skip: chromium ? false : 'no Chromium on this machine' }, async (t) => {
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars'];
    const url = `http://127.0.0.1:${adminPort}/`;
    const dom = spawnSync(chromium!, [...flags, '--dump-dom', url], { encoding: 'utf8', timeout: 90_000 });
    t.match(dom.stdout, /<h1>Legate Admin<\/h1>/, 'the browser parsed the page');
    const rows = (dom.stdout.match(/<tr[ >]/g) ?? []).length;
    t.equal(rows, ENDPOINTS.length, 'a header row and one row per endpoint other than /');
    const png = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'legate-admin-')), 'home.png');
    spawnSync(chromium!, [...flags, '--window-size=1000,900', `--screenshot=${png}`, url], { timeout: 90_000 });
    const bytes = fs.existsSync(png) ? fs.readFileSync(png) : Buffer.alloc(0);
    t.ok(bytes.length > 5000 && bytes.subarray(1, 4).toString() === 'PNG', `screenshot written (${bytes.length} bytes, ${png})`);
  });

  t.test('mutating endpoints answer only POST', async (t) => {
    for (const p of MUTATING) {
      const r = await proxy.admin(p, 'GET');
      t.equal(r.status, 405, `GET ${p}`);
      t.equal(r.body, 'Method GET not allowed, POST required.\n');
    }
  });

  t.test('/listeners: text and ListenersInfo JSON', async (t) => {
    const text = await proxy.admin('/listeners');
    t.equal(text.body, `test_listener::127.0.0.1:${outboundPort}\ninbound_listener::127.0.0.1:${inboundPort}\n`);
    const json = JSON.parse((await proxy.admin('/listeners?format=json')).body) as unknown;
    t.same(json, {
      listener_statuses: [
        { name: 'test_listener', local_address: { socket_address: { address: '127.0.0.1', port_value: outboundPort } } },
        { name: 'inbound_listener', local_address: { socket_address: { address: '127.0.0.1', port_value: inboundPort } } },
      ],
    });
  });

  t.test('/logging: list, all levels, one component, paths, errors', async (t) => {
    const list = await proxy.admin('/logging', 'POST');
    t.equal(list.status, 200);
    t.match(list.body, /^active loggers:\n {2}admin: info\n/);
    let r = await proxy.admin('/logging?upstream=debug', 'POST');
    t.match(r.body, /\n {2}upstream: debug\n/);
    t.match(r.body, /\n {2}router: info\n/, 'others unchanged');
    r = await proxy.admin('/logging?paths=router:trace,hc:error', 'POST');
    t.match(r.body, /\n {2}router: trace\n/);
    t.match(r.body, /\n {2}hc: error\n/);
    r = await proxy.admin('/logging?level=warning', 'POST');
    t.notMatch(r.body, /: (trace|debug|info|error)\n/, 'every logger at warning');
    r = await proxy.admin('/logging?nosuchlogger=debug', 'POST');
    t.equal(r.status, 400);
    t.match(r.body, /^error: unknown logger name\n\nusage: \/logging\?<name>=<level>/);
    r = await proxy.admin('/logging?upstream=loud', 'POST');
    t.equal(r.status, 400);
    t.match(r.body, /error: unknown logger level/);
    r = await proxy.admin('/logging?level=info&upstream=debug', 'POST');
    t.match(r.body, /error: invalid number of parameters/);
    r = await proxy.admin('/logging?paths=router', 'POST');
    t.match(r.body, /error: empty logger name or empty logger level/);
    await proxy.admin('/logging?level=info', 'POST');
  });

  t.test('/runtime, /runtime_modify, /memory, /certs, /reset_counters', async (t) => {
    t.same(JSON.parse((await proxy.admin('/runtime')).body), { layers: [], entries: {} });
    const mod = await proxy.admin('/runtime_modify?foo=bar', 'POST');
    t.same([mod.status, mod.body], [503, 'No admin layer specified']);
    const usage = await proxy.admin('/runtime_modify', 'POST');
    t.equal(usage.status, 400);
    const mem = JSON.parse((await proxy.admin('/memory')).body) as Record<string, string>;
    t.same(Object.keys(mem).sort(), ['allocated', 'heap_size', 'pageheap_free', 'pageheap_unmapped', 'total_physical_bytes', 'total_thread_cache']);
    t.ok(Number(mem['allocated']) > 0 && Number(mem['total_physical_bytes']) >= Number(mem['allocated']), 'real numbers, as decimal strings');
    t.same(JSON.parse((await proxy.admin('/certs')).body), { certificates: [] });

    const agent = new Agent();
    for (let i = 0; i < 3; i++) await (await request(`http://127.0.0.1:${outboundPort}/`, { dispatcher: agent })).body.dump();
    const count = async (): Promise<number> => Number(/http\.test\.downstream_rq_total: (\d+)/.exec((await proxy.admin('/stats?filter=downstream_rq_total')).body)?.[1]);
    t.equal(await count(), 3);
    t.equal((await proxy.admin('/reset_counters', 'POST')).status, 200);
    t.equal(await count(), 0, 'counters back to 0');
    await agent.close();
  });

  t.test('/drain_listeners?inboundonly drains only INBOUND listeners; without it, all', async (t) => {
    t.ok(await accepts(inboundPort));
    t.ok(await accepts(outboundPort));
    t.equal((await proxy.admin('/drain_listeners?inboundonly', 'POST')).status, 200);
    t.notOk(await accepts(inboundPort), 'the inbound listener stopped accepting');
    t.ok(await accepts(outboundPort), 'the outbound one still accepts');
    t.same(await proxy.admin('/drain_listeners?skip_exit', 'POST'), { status: 400, body: 'skip_exit requires graceful\n' });
    t.equal((await proxy.admin('/drain_listeners?graceful', 'POST')).status, 200);
    t.notOk(await accepts(outboundPort), 'now every listener is drained');
    t.equal((await proxy.admin('/ready')).status, 200, 'the admin API keeps answering');
  });
});
