/**
 * Exposure (issue #9): Legate listens only where its config says (admin and listeners,
 * on the configured address only), mutating admin calls need POST, and request bytes
 * cannot forge access-log lines.
 */
import fs from 'node:fs';
import net from 'node:net';
import t from 'tap';
import { freePort, startLegate } from '../fakes/legate-process';
import { startRawH2Backend } from '../fakes/raw-h2-backend';
import { bootstrapJson } from '../integration/bootstrap-builder';

/** host:port of every TCP socket the process `pid` listens on (from /proc). */
function listeningSockets(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // The fd closed while we looked.
    }
  }
  const out: string[] = [];
  for (const file of ['tcp', 'tcp6']) {
    const lines = fs.readFileSync(`/proc/${pid}/net/${file}`, 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== '0A' || !inodes.has(f[9]!)) continue; // 0A = LISTEN
      const [hexIp, hexPort] = f[1]!.split(':') as [string, string];
      const ip = hexIp.length === 8 ? Buffer.from(hexIp, 'hex').reverse().join('.') : `[${hexIp}]`;
      out.push(`${ip}:${parseInt(hexPort, 16)}`);
    }
  }
  return out.sort();
}

function connectOutcome(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once('connect', () => { s.destroy(); resolve('connected'); });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** HTTP/2 frame: 9-byte header, then the payload. */
function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK "literal header field without indexing, new name", plain (no Huffman) strings < 127 bytes. */
function literal(name: string, value: Buffer | string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  return Buffer.concat([Buffer.from([0x00, n.length]), n, Buffer.from([v.length]), v]);
}

/**
 * Sends one GET with the given extra header bytes on a raw HTTP/2 connection (so values Node's
 * client would refuse can be sent) and resolves once the connection has been quiet for 300 ms.
 */
function rawRequest(port: number, path: string, header: [string, Buffer]): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let quiet: NodeJS.Timeout | undefined;
    const done = (): void => { clearTimeout(quiet); s.destroy(); resolve(); };
    s.on('data', () => { clearTimeout(quiet); quiet = setTimeout(done, 300); });
    s.on('error', done);
    s.on('close', done);
    s.once('connect', () => {
      // :method GET, :scheme http, :path and :authority as literals.
      const block = Buffer.concat([Buffer.from([0x82, 0x86]), literal(':path', path), literal(':authority', 'svc'), literal(header[0], header[1])]);
      s.write(Buffer.concat([
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
        frame(0x4, 0, 0, Buffer.alloc(0)),
        frame(0x1, 0x1 | 0x4, 1, block),
      ]));
      quiet = setTimeout(done, 2000);
    });
  });
}

t.test('listens only on the configured addresses', async (t) => {
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy = await startLegate({ configYaml: JSON.stringify(bootstrapJson({ adminPort, listenerPort, clusters: [{ name: 'svc', endpoints: ['127.0.0.1:9'] }] })) });
  t.teardown(() => proxy.stop());
  t.same(listeningSockets(proxy.pid), [`127.0.0.1:${adminPort}`, `127.0.0.1:${listenerPort}`].sort(), 'exactly the admin and listener sockets, on 127.0.0.1');
  // 127.0.0.2 is also this machine, but not the configured address.
  t.equal(await connectOutcome('127.0.0.2', adminPort), 'ECONNREFUSED', 'admin is not reachable on another local address');
  t.equal(await connectOutcome('127.0.0.2', listenerPort), 'ECONNREFUSED', 'nor is the listener');
});

t.test('mutating admin endpoints need POST', async (t) => {
  const adminPort = await freePort();
  const proxy = await startLegate({ configYaml: JSON.stringify(bootstrapJson({ adminPort, listenerPort: await freePort(), clusters: [{ name: 'svc', endpoints: ['127.0.0.1:9'] }] })) });
  t.teardown(() => proxy.stop());
  for (const path of ['/quitquitquit', '/healthcheck/fail', '/healthcheck/ok', '/reset_counters', '/logging?level=debug', '/drain_listeners']) {
    const r = await proxy.admin(path, 'GET');
    if (r.status === 404) {
      t.comment(`${path}: not served by this build`);
      continue;
    }
    t.equal(r.status, 405, `GET ${path} → 405`);
  }
  t.equal((await proxy.admin('/ready')).status, 200, 'and nothing was done: still up and ready');
});

t.test('request bytes cannot forge access-log lines', async (t) => {
  const backend = await startRawH2Backend({ name: 'b' });
  t.teardown(() => backend.stop(100));
  const listenerPort = await freePort();
  const config = bootstrapJson({
    adminPort: await freePort(),
    listenerPort,
    clusters: [{ name: 'svc', endpoints: [backend.address] }],
    accessLogFormat: 'LOG %REQ(:PATH)% [%REQ(x-evil)%] %RESPONSE_CODE%\n',
  });
  const proxy = await startLegate({ configYaml: JSON.stringify(config) });
  t.teardown(() => proxy.stop());

  // Control characters (ESC, DEL, BS) and CR/LF in a header value: whatever the codec does with them
  // (Node's HTTP/2 codec drops the field), they never reach a log line or the upstream raw, and no
  // line is forged. The formatter escapes control characters as a second line of defence
  // (test/unit/access-log/formatter.test.ts).
  await rawRequest(listenerPort, '/ctl', ['x-evil', Buffer.from('a\x1b[31mb\x7fc\x08d', 'latin1')]);
  await rawRequest(listenerPort, '/crlf', ['x-evil', Buffer.from('x\r\nLOG /forged [] 200', 'latin1')]);
  await rawRequest(listenerPort, '/after', ['x-evil', Buffer.from('ok', 'latin1')]);
  t.equal(await proxy.waitForLine(/^LOG \/after /), 'LOG /after [ok] 200', 'a plain value is logged as sent');
  t.notOk(proxy.stdout.some((l) => l.startsWith('LOG /forged')), 'no forged line');
  const upstreamValues = backend.headersLog.map((h) => String(h['x-evil'] ?? ''));
  t.notOk(upstreamValues.some((v) => /[\x00-\x08\x0a-\x1f\x7f]/.test(v)), `no control character reached the upstream (${JSON.stringify(upstreamValues)})`);
  t.notOk(proxy.stdout.some((l) => /[\x00-\x08\x0a-\x1f\x7f]/.test(l)), 'nor a log line');
  const logged = proxy.stdout.filter((l) => l.startsWith('LOG ')).map((l) => l.split(' ')[1]);
  t.ok(logged.every((p) => p === '/ctl' || p === '/crlf' || p === '/after'), `only the requests made were logged (${logged.join(', ')})`);
});
