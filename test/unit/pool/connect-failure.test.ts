import t from 'tap';
import * as os from 'node:os';
import * as path from 'node:path';
import { H2HostPool } from '../../../src/upstream/pool';
import type { PoolError } from '../../../src/upstream/pool';
import {
  closedPort, collect, echoHandler, openStream, sleep, startBlackholeServer, startH2Server, startSilentTcpServer,
} from './pool-test-helpers';

function failures(pool: H2HostPool, n: number): Promise<PoolError[]> {
  return Promise.all(Array.from({ length: n }, () => openStream(pool).then(
    () => { throw new Error('expected a connect failure'); },
    (err: PoolError) => err,
  )));
}

t.test('connection refused fails every queued request with connect_failure, once', async (t) => {
  const port = await closedPort();
  const fails: PoolError[] = [];
  let starts = 0;
  const pool = new H2HostPool({ host: '127.0.0.1', port }, {}, {
    onConnectStart: () => starts++,
    onConnectFail: (_id, err) => fails.push(err),
  });
  t.teardown(() => pool.close());

  const errors = await failures(pool, 3);
  for (const err of errors) {
    t.equal(err.kind, 'connect_failure');
    t.equal(err.message, `delayed connect error: ${os.constants.errno.ECONNREFUSED}`, 'Envoy wording, errno 111 on Linux');
    t.equal((err.cause as { code?: string }).code, 'ECONNREFUSED');
  }
  t.equal(starts, 1, 'one connection attempt for three queued requests');
  t.equal(fails.length, 1, 'one onConnectFail');
  t.equal(pool.sessionCount, 0);
  t.equal(pool.pendingRequests, 0);
  await sleep(50);
  t.equal(starts, 1, 'the pool does not retry on its own');
});

t.test('TCP connect that never completes fails with connect_timeout', async (t) => {
  const blackhole = await startBlackholeServer();
  t.teardown(() => blackhole.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: blackhole.port }, { connectTimeoutMs: 300 });
  t.teardown(() => pool.close());

  const started = Date.now();
  const [err] = await failures(pool, 1);
  const elapsed = Date.now() - started;
  t.equal(err!.kind, 'connect_timeout');
  t.equal(err!.message, 'connection timeout');
  t.match(String((err!.cause as Error).message), /TCP connect did not complete/);
  t.ok(elapsed >= 250 && elapsed < 5000, `failed after the timeout (${elapsed} ms)`);
  t.equal(pool.sessionCount, 0);
});

t.test('a peer that accepts TCP but never sends HTTP/2 SETTINGS also times out', async (t) => {
  const silent = await startSilentTcpServer();
  t.teardown(() => silent.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: silent.port }, { connectTimeoutMs: 200 });
  t.teardown(() => pool.close());
  const [err] = await failures(pool, 1);
  t.equal(err!.kind, 'connect_timeout');
  t.match(String((err!.cause as Error).message), /no HTTP\/2 SETTINGS/);
});

t.test('after a failure, the next request makes a fresh attempt', async (t) => {
  const port = await closedPort();
  let starts = 0;
  const pool = new H2HostPool({ host: '127.0.0.1', port }, {}, { onConnectStart: () => starts++ });
  t.teardown(() => pool.close());
  const [first] = await failures(pool, 1);
  t.equal(first!.kind, 'connect_failure');
  const [second] = await failures(pool, 1);
  t.equal(second!.kind, 'connect_failure');
  t.equal(starts, 2, 'one attempt per burst of requests, none in between');
});

t.test('Unix domain socket address', async (t) => {
  const socketPath = path.join(os.tmpdir(), `legate-pool-${process.pid}-${Date.now()}.sock`);
  const server = await startH2Server(echoHandler, {}, socketPath);
  t.teardown(() => server.close());
  const pool = new H2HostPool({ path: socketPath });
  t.teardown(() => pool.close());
  const { stream } = await openStream(pool, { ':path': '/uds', ':method': 'POST' });
  stream.end('over a unix socket');
  const res = await collect(stream);
  t.equal(res.body.toString(), 'over a unix socket');
});
