import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { CDS_TYPE_URL, LDS_TYPE_URL, startControlPlane } from '../../fakes/control-plane';
import { isPortInUse } from '../../fakes/free-port';
import { deltaStream, namesOf, sotwStream } from './ads-test-client';
import { cluster, listener } from './resources';

t.test('restart keeps port, state, versions and nonces', async (t) => {
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  const port = cp.port;
  t.ok(port > 0);
  t.equal(cp.address, `127.0.0.1:${port}`);
  t.equal(cp.target, cp.address);
  cp.setResources(CDS_TYPE_URL, [{ name: 'c1', value: cluster('c1') }]);

  const s1 = sotwStream(cp.target);
  t.teardown(() => s1.close());
  s1.send({ type_url: CDS_TYPE_URL, node: { id: 'n1' } });
  const before = await s1.next();
  const d1 = deltaStream(cp.target);
  t.teardown(() => d1.close());
  d1.send({ type_url: CDS_TYPE_URL, node: { id: 'n1' } });
  await d1.next();
  await cp.waitForStreams(2);

  await cp.restart();
  t.equal((await s1.status).code, grpc.status.UNAVAILABLE, 'SotW stream fails UNAVAILABLE');
  t.equal((await d1.status).code, grpc.status.UNAVAILABLE, 'delta stream fails UNAVAILABLE');
  t.equal(cp.port, port, 'same port');
  t.equal(cp.running, true);

  const s2 = sotwStream(cp.target);
  t.teardown(() => s2.close());
  s2.send({ type_url: CDS_TYPE_URL, node: { id: 'n1' }, version_info: before.version_info });
  const after = await s2.next();
  t.equal(after.version_info, before.version_info, 'same version');
  t.same(namesOf(after), ['c1']);
  t.ok(Number(after.nonce) > Number(before.nonce), 'nonces never repeat');
  t.equal(cp.connectedStreams, 1);
  t.equal(cp.totalStreams, 3);
  t.same(
    [...new Set(cp.requests.map((r) => r.stream))],
    [1, 2, 3],
  );
});

t.test('stop frees the port; abrupt stop; restart after a pause', async (t) => {
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  cp.setResources(LDS_TYPE_URL, [{ name: 'l', value: listener('l', 1) }]);
  const s = sotwStream(cp.target);
  t.teardown(() => s.close());
  s.send({ type_url: LDS_TYPE_URL });
  await s.next();
  await cp.stop({ abrupt: true });
  t.equal(cp.running, false);
  t.equal(cp.connectedStreams, 0);
  t.equal((await s.status).code, grpc.status.UNAVAILABLE);
  t.equal(await isPortInUse(cp.port), false, 'nothing listens while stopped');
  await cp.stop(); // idempotent

  const restarted = cp.restart({ downMs: 150 });
  await new Promise((r) => setTimeout(r, 50));
  t.equal(await isPortInUse(cp.port), false, 'still down');
  await restarted;
  t.equal(await isPortInUse(cp.port), true);
});

t.test('disconnectAll ends streams with UNAVAILABLE; clients reconnect', async (t) => {
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  cp.setResources(LDS_TYPE_URL, [{ name: 'l', value: listener('l', 1) }]);
  const a = sotwStream(cp.target);
  const b = deltaStream(cp.target);
  t.teardown(() => a.close());
  t.teardown(() => b.close());
  a.send({ type_url: LDS_TYPE_URL });
  b.send({ type_url: LDS_TYPE_URL });
  await a.next();
  await b.next();
  t.equal(cp.connectedStreams, 2);
  cp.disconnectAll();
  const [sa, sb] = await Promise.all([a.status, b.status]);
  t.equal(sa.code, grpc.status.UNAVAILABLE);
  t.equal(sb.code, grpc.status.UNAVAILABLE);
  t.equal(cp.connectedStreams, 0);
  const c = sotwStream(cp.target);
  t.teardown(() => c.close());
  c.send({ type_url: LDS_TYPE_URL });
  t.same(namesOf(await c.next()), ['l']);
});

t.test('unix socket, restarted under a reconnecting client', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-cp-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const socketPath = path.join(dir, 'XDS');
  fs.writeFileSync(path.join(dir, 'unrelated'), '');
  const cp = await startControlPlane({ socketPath });
  t.teardown(() => cp.stop());
  t.equal(cp.address, socketPath);
  t.equal(cp.target, `unix:${socketPath}`);
  t.equal(cp.port, 0);
  t.equal(cp.host, undefined);

  let served = 0;
  cp.setResources(CDS_TYPE_URL, [{ name: 'c0', value: cluster('c0') }]);
  // A client that reconnects whenever its stream dies, like an xDS client would.
  let stopped = false;
  const client = (async () => {
    while (!stopped) {
      const s = sotwStream(cp.target);
      s.send({ type_url: CDS_TYPE_URL, node: { id: 'unix-client' } });
      try {
        for (;;) {
          const res = await s.next(5000);
          served++;
          s.send({ type_url: CDS_TYPE_URL, version_info: res.version_info, response_nonce: res.nonce });
        }
      } catch {
        // stream gone or idle: reconnect
      } finally {
        s.close();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  t.teardown(async () => {
    stopped = true;
    cp.disconnectAll();
    await client;
  });

  await cp.waitForAck(CDS_TYPE_URL, '1', 5000);
  for (let i = 1; i <= 3; i++) {
    await cp.restart({ abrupt: i % 2 === 0 });
    // Set while the client is (probably) still reconnecting: the ACK proves it got it over a new stream.
    const version = cp.setResource(CDS_TYPE_URL, `c${i}`, cluster(`c${i}`));
    const ack = await cp.waitForAck(CDS_TYPE_URL, version, 5000);
    t.equal(ack.stream, i + 1, `version ${version} ACKed on stream ${ack.stream}`);
  }
  t.equal(cp.version(CDS_TYPE_URL), '4');
  t.ok(served >= 4, `responses served across restarts: ${served}`);
  t.ok(fs.existsSync(socketPath));
  await cp.stop();
  t.equal(fs.existsSync(socketPath), false, 'socket file removed on stop');
  await cp.listen();
  t.equal(cp.running, true);
});

t.test('waiting: timeouts explain themselves', async (t) => {
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  await t.rejects(cp.waitForAck(LDS_TYPE_URL, '1', 100), /timed out after 100 ms waiting for ACK of .*Listener version 1; no requests received/);
  const s = sotwStream(cp.target);
  t.teardown(() => s.close());
  s.send({ type_url: LDS_TYPE_URL, resource_names: ['x'] });
  await s.next();
  await t.rejects(cp.waitForNack(LDS_TYPE_URL, 100), /last requests:\n {2}#1 sotw Listener version="" nonce="" names=\["x"\]/);
  await t.rejects(cp.waitForStreams(2, 100), /2 open ADS streams \(have 1\)/);
  const seen: string[] = [];
  const off = cp.onRequest((r) => seen.push(r.typeUrl));
  s.send({ type_url: CDS_TYPE_URL });
  await s.next();
  off();
  s.send({ type_url: 'other' });
  await cp.waitForRequest((r) => r.typeUrl === 'other');
  t.same(seen, [CDS_TYPE_URL]);
  cp.clearRecords();
  t.same(cp.requests, []);
  t.same(cp.responses, []);
});
