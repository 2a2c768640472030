import { pbkdf2 } from 'node:crypto';
import http from 'node:http';
import t from 'tap';
import { loadBootstrap } from '../../../src/bootstrap/bootstrap';
import { defaultCommandLineOptions } from '../../../src/cli/options';
import { Server } from '../../../src/server/server';
import { freePort } from '../../fakes/free-port';
import { bootstrapText } from '../../integration/bootstrap-builder';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

t.test('/ready is 503 until the initial configuration is applied, then 200 LIVE', async (t) => {
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const loaded = loadBootstrap({
    configYaml: bootstrapText({
      adminPort, listenerPort,
      clusters: [{ name: 'dns', type: 'STRICT_DNS', endpoints: ['localhost:1'], extra: { dns_lookup_family: 'V4_ONLY' } }],
    }),
  });
  t.same(loaded.errors, []);
  // DNS lookups run on libuv's thread pool (4 threads). Occupying every thread holds the
  // cluster's first resolution back, so the server is bound but not yet initialized.
  const busy = Array.from({ length: 4 }, () => new Promise<void>((resolve) => pbkdf2('x', 'y', 1_500_000, 32, 'sha512', () => resolve())));
  let exitCode: number | undefined;
  const server = new Server(loaded.model!, defaultCommandLineOptions(), (code) => (exitCode = code));
  const started = server.start();
  // Wait for the admin listener, then ask while the DNS answer is still queued.
  let during: { status: number; body: string } | undefined;
  for (let i = 0; i < 100 && !during; i++) {
    during = await get(adminPort, '/ready').catch(() => undefined);
    if (!during) await new Promise((r) => setTimeout(r, 5));
  }
  t.equal(during?.status, 503, 'not ready while a cluster is still initializing');
  t.match(during?.body, /^(PRE_INITIALIZING|INITIALIZING)\n$/);
  await Promise.all(busy);
  await started;
  const after = await get(adminPort, '/ready');
  t.equal(after.status, 200);
  t.equal(after.body, 'LIVE\n');
  server.destroy();
  t.equal(exitCode, undefined, 'destroy() alone does not report an exit');
});
