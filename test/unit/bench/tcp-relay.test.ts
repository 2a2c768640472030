// The bench's bare Node TCP relay (path node-relay): gRPC calls over several connections pass
// through it unchanged to the real echo backend, and a client that vanishes halfway through its
// preface takes only its own connection pair down.
import t from 'tap';
import net from 'node:net';
import { helloRequest, runLoad } from '../../../bench/load/grpc-load';
import { startH2GrpcEcho } from '../../../bench/servers/h2-grpc-echo';
import { startTcpRelay } from '../../../bench/servers/tcp-relay';

t.test('relays gRPC calls to the backend', async (t) => {
  const backend = await startH2GrpcEcho();
  t.teardown(() => backend.close());
  const relay = await startTcpRelay(backend.port);
  t.teardown(() => relay.server.close());
  const report = await runLoad({
    target: `127.0.0.1:${relay.port}`, call: 'helloworld.Greeter/SayHello', message: helloRequest(12), headers: {},
    connections: 3, concurrency: 6, total: 300, durationMs: 0, rps: 0, skipFirst: 0, timeoutMs: 5000, details: false, name: 'relay',
  });
  t.equal(report.count, 300);
  t.equal(report.statusCodeDistribution['OK'], 300, 'every call OK through the relay');
  t.equal(backend.requests, 300);

  // A client that connects, sends half a preface and vanishes: the relay keeps serving.
  await new Promise<void>((resolve) => {
    const c = net.connect(relay.port, '127.0.0.1', () => {
      c.write('PRI * HTTP/2.0\r\n');
      c.destroy();
      resolve();
    });
  });
  const after = await runLoad({
    target: `127.0.0.1:${relay.port}`, call: 'helloworld.Greeter/SayHello', message: helloRequest(12), headers: {},
    connections: 1, concurrency: 1, total: 5, durationMs: 0, rps: 0, skipFirst: 0, timeoutMs: 5000, details: false, name: 'after',
  });
  t.equal(after.statusCodeDistribution['OK'], 5, 'still relaying after a client vanished');
});
