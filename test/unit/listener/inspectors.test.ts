import net from 'node:net';
import tls from 'node:tls';
import t from 'tap';
import { inspectHttp, inspectTls } from '../../../src/listener/inspectors';

/** The first bytes a real TLS client (Node's) sends: its ClientHello. */
async function realClientHello(servername: string, alpn: string[]): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    return await new Promise<Buffer>((resolve) => {
      server.once('connection', (s) => {
        let buf = Buffer.alloc(0);
        s.on('data', (c: Buffer) => {
          buf = Buffer.concat([buf, c]);
          const hello = inspectTls(buf);
          if (hello.done) {
            resolve(buf);
            s.destroy();
          }
        });
      });
      const c = tls.connect({ host: '127.0.0.1', port, servername, ALPNProtocols: alpn, rejectUnauthorized: false });
      c.on('error', () => undefined);
    });
  } finally {
    server.close();
  }
}

t.test('tls_inspector: SNI and ALPN from a real ClientHello, decided only once it is complete', async (t) => {
  const hello = await realClientHello('www.example.com', ['h2', 'http/1.1']);
  const r = inspectTls(hello);
  t.same(r, { done: true, result: { serverName: 'www.example.com', alpn: ['h2', 'http/1.1'] } });
  for (const cut of [1, 3, 5, 40, hello.length - 1]) t.same(inspectTls(hello.subarray(0, cut)), { done: false }, `needs more after ${cut} bytes`);
});

t.test('tls_inspector: a ClientHello split over two TLS records', async (t) => {
  const hello = await realClientHello('api.example.org', ['istio-h2']);
  const body = hello.subarray(5);
  const split = 30;
  const rec = (part: Buffer) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, part.length >> 8, part.length & 0xff]), part]);
  const two = Buffer.concat([rec(body.subarray(0, split)), rec(body.subarray(split))]);
  t.same(inspectTls(two), { done: true, result: { serverName: 'api.example.org', alpn: ['istio-h2'] } });
});

t.test('tls_inspector: plaintext is decided at once as not TLS', async (t) => {
  t.same(inspectTls(Buffer.from('GET / HTTP/1.1\r\n')), { done: true, result: undefined });
  t.same(inspectTls(Buffer.from('PRI * HTTP/2.0')), { done: true, result: undefined });
  t.same(inspectTls(Buffer.from([0x16, 0x01])), { done: true, result: undefined }, 'handshake type byte but no TLS version');
});

t.test('http_inspector: HTTP/1.x request lines and the HTTP/2 preface', async (t) => {
  t.same(inspectHttp(Buffer.from('GET /x HTTP/1.1\r\nhost: a\r\n')), { done: true, result: 'http/1.1' });
  t.same(inspectHttp(Buffer.from('POST / HTTP/1.0\r\n')), { done: true, result: 'http/1.0' });
  t.same(inspectHttp(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), { done: true, result: 'h2c' });
  t.same(inspectHttp(Buffer.from('PRI * HTTP/2')), { done: false }, 'a prefix of the preface needs more');
  t.same(inspectHttp(Buffer.from('GE')), { done: false }, 'a prefix of a method needs more');
  t.same(inspectHttp(Buffer.from('GET /very/long')), { done: false }, 'a request line without its end needs more');
  t.same(inspectHttp(Buffer.from('SSH-2.0-OpenSSH\r\n')), { done: true, result: undefined });
  t.same(inspectHttp(Buffer.from([0x16, 0x03, 0x01])), { done: true, result: undefined });
  t.same(inspectHttp(Buffer.from('GET / HTTP/2.0\r\n')), { done: true, result: undefined }, 'only HTTP/1.0 and 1.1 request lines');
});
