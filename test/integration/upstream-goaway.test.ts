import t from 'tap';
import { createTestClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { startRawH2Backend } from '../fakes/raw-h2-backend';
import { bootstrapText } from './bootstrap-builder';

t.test('upstream GOAWAY during load: zero failed calls', async (t) => {
  // Every upstream connection is sent GOAWAY after its 7th stream while more are in
  // flight; streams above last_stream_id were never processed and must be replayed.
  const backend = await startRawH2Backend({ name: 'rotating', goawayAfterStreams: 7 });
  t.teardown(() => backend.stop(100));
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy = await startLegate({ configYaml: bootstrapText({ adminPort, listenerPort, clusters: [{ name: 'svc', endpoints: [backend.address] }] }) });
  t.teardown(() => proxy.stop());
  const client = createTestClient('helloworld', `127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());

  let failed = 0;
  let ok = 0;
  for (let round = 0; round < 15; round++) {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      client.unarySettled('SayHello', { name: `n${round}-${i}` }, { metadata: { 'x-raw-delay-ms': String(i % 3) } })));
    for (const r of results) {
      if (r.ok) ok++;
      else {
        failed++;
        t.comment(`failed: ${r.status.code} ${r.status.details}`);
      }
    }
  }
  t.equal(failed, 0, 'no call failed');
  t.equal(ok, 300);
  t.ok(backend.sessions > 5, `the backend rotated connections (${backend.sessions} sessions)`);
});
