import t from 'tap';
import { createHash } from 'node:crypto';
import type * as http2 from 'node:http2';
import { H2HostPool } from '../../../src/upstream/pool';
import { collect, echoHandler, openStream, startH2Server } from './pool-test-helpers';

const FOUR_MIB = 4 * 1024 * 1024;

function sha(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

t.test('4 MiB up and 4 MiB down through one stream; our window settings reach the peer', async (t) => {
  let serverSession: http2.ServerHttp2Session | undefined;
  const server = await startH2Server((stream, headers, session) => {
    serverSession = session;
    echoHandler(stream, headers, session);
  }, {
    // The server raises its own windows too, so the upload is not the bottleneck.
    settings: { initialWindowSize: 16 * 1024 * 1024 },
  });
  server.server.on('session', (s: http2.ServerHttp2Session) => s.on('connect', () => s.setLocalWindowSize(16 * 1024 * 1024)));
  t.teardown(() => server.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port });
  t.teardown(() => pool.close());

  const body = Buffer.alloc(FOUR_MIB);
  for (let i = 0; i < body.length; i += 4096) body.writeUInt32BE(i, i);
  const started = Date.now();
  const { stream } = await openStream(pool, { ':path': '/big', ':method': 'POST' });
  stream.end(body);
  const res = await collect(stream);
  const elapsed = Date.now() - started;

  t.equal(res.status, 200);
  t.equal(res.body.length, FOUR_MIB);
  t.equal(sha(res.body), sha(body), 'bytes intact');
  t.ok(elapsed < 10_000, `completed (${elapsed} ms)`);

  // What the server sees of our settings: the stream window from our SETTINGS frame, and the
  // connection window we opened with setLocalWindowSize() (Envoy's 256 MiB defaults).
  t.equal(serverSession!.remoteSettings.initialWindowSize, 268_435_456, 'SETTINGS_INITIAL_WINDOW_SIZE sent');
  t.equal(serverSession!.remoteSettings.enablePush, false, 'push disabled');
  t.ok(serverSession!.state.remoteWindowSize! > 200 * 1024 * 1024, `connection window opened (${serverSession!.state.remoteWindowSize})`);
});

t.test('eight concurrent 4 MiB downloads share one session', async (t) => {
  const payload = Buffer.alloc(FOUR_MIB, 7);
  // maxSessionMemory: Node's 10 MB default makes a *server* refuse new streams with
  // ENHANCE_YOUR_CALM (rstCode 11) once ~10 MB of responses are queued on one session.
  const server = await startH2Server((stream) => {
    stream.respond({ ':status': 200 });
    stream.end(payload);
  }, { maxSessionMemory: 256 });
  t.teardown(() => server.close());
  const pool = new H2HostPool({ host: '127.0.0.1', port: server.port });
  t.teardown(() => pool.close());
  const results = await Promise.all(Array.from({ length: 8 }, async () => {
    const { stream } = await openStream(pool);
    return collect(stream);
  }));
  for (const res of results) t.equal(res.body.length, FOUR_MIB);
  t.equal(server.sessionsCreated(), 1);
});
