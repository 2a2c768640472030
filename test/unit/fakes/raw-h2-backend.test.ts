import t from 'tap';
import http2 from 'node:http2';
import { frameMessage, unframeMessages } from '../../fakes/grpc-frame';
import { createTestClient } from '../../fakes/grpc-client';
import { respondGrpc, startRawH2Backend } from '../../fakes/raw-h2-backend';
import type { HelloReply, HelloRequest } from '../../fakes/test-services';

interface RawResponse {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders | undefined;
  body: Buffer;
  rstCode: number | undefined;
}

function request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<RawResponse> {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'POST', ':path': '/helloworld.Greeter/SayHello', 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      responseHeaders = h;
    });
    stream.on('trailers', (h) => {
      trailers = h;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => undefined);
    stream.on('close', () => resolve({ headers: responseHeaders, trailers, body: Buffer.concat(chunks), rstCode: stream.rstCode }));
    stream.end(body ?? frameMessage(Buffer.from('\x0a\x05world', 'latin1')));
  });
}

t.test('grpc-js client gets an echo reply (HelloRequest bytes = HelloReply bytes)', async (t) => {
  const backend = await startRawH2Backend({ name: 'raw1' });
  const client = createTestClient('helloworld', backend.address);
  const res = await client.unary<HelloRequest, HelloReply>('SayHello', { name: 'world' }, { metadata: { 'x-request-id': 'r1' } });
  t.equal(res.response.message, 'world');
  t.same(res.headers?.get('x-backend-name'), ['raw1']);
  t.equal(backend.streams, 1);
  t.equal(backend.sessions, 1);
  t.equal(backend.lastHeaders?.[':path'], '/helloworld.Greeter/SayHello');
  t.equal(backend.lastHeaders?.['x-request-id'], 'r1');
  t.equal(backend.lastHeaders?.['te'], 'trailers');
  const failed = await client.unarySettled('SayHello', { name: 'x' }, { metadata: { 'x-raw-grpc-status': '7', 'x-raw-grpc-message': 'nope, 100%' } });
  t.equal(failed.status.code, 7);
  t.equal(failed.status.details, 'nope, 100%');
  const trailersOnly = await client.unarySettled('SayHello', { name: 'x' }, { metadata: { 'x-raw-grpc-status': '14', 'x-raw-trailers-only': '1' } });
  t.equal(trailersOnly.status.code, 14);
  t.equal(trailersOnly.headers, undefined, 'no separate header block');
  client.close();
  await backend.stop();
});

t.test('raw client: status, trailers, rst, delay, non-grpc JSON', async (t) => {
  const backend = await startRawH2Backend();
  const session = http2.connect(`http://${backend.address}`);
  const ok = await request(session, {});
  t.equal(ok.headers[':status'], 200);
  t.equal(ok.trailers?.['grpc-status'], '0');
  t.same(unframeMessages(ok.body).map((f) => f.message.toString('latin1')), ['\x0a\x05world']);
  t.equal(ok.headers['x-raw-stream-id'], '1');

  const rst = await request(session, { 'x-raw-rst': String(http2.constants.NGHTTP2_REFUSED_STREAM) });
  t.equal(rst.rstCode, http2.constants.NGHTTP2_REFUSED_STREAM);

  const started = Date.now();
  await request(session, { 'x-raw-delay-ms': '100' });
  t.ok(Date.now() - started >= 90);

  const json = await request(session, { 'content-type': 'text/plain', 'x-custom': 'v' }, Buffer.from('hello'));
  const parsed = JSON.parse(json.body.toString()) as { headers: Record<string, string>; bodyBytes: number; backend: string };
  t.equal(parsed.headers['x-custom'], 'v');
  t.equal(parsed.headers[':method'], 'POST');
  t.equal(parsed.bodyBytes, 5);
  t.equal(backend.streams, 4);
  t.equal(backend.headersLog.length, 4);
  session.close();
  await backend.stop();
});

t.test('GOAWAY after N streams and on demand', async (t) => {
  const backend = await startRawH2Backend({ goawayAfterStreams: 2 });
  const session = http2.connect(`http://${backend.address}`);
  const goaways: Array<{ code: number; last: number }> = [];
  session.on('goaway', (code, last) => goaways.push({ code, last }));
  session.on('error', () => undefined);
  t.equal((await request(session, {})).trailers?.['grpc-status'], '0');
  t.equal((await request(session, {})).trailers?.['grpc-status'], '0', 'the N-th stream is still served');
  await new Promise((r) => setTimeout(r, 50));
  t.same(goaways, [{ code: 0, last: 3 }], 'GOAWAY names stream 3 (the 2nd) as last');

  backend.setGoawayAfterStreams(undefined);
  const second = http2.connect(`http://${backend.address}`);
  const seen: number[] = [];
  second.on('goaway', (_code, last) => seen.push(last));
  second.on('error', () => undefined);
  await request(second, {});
  backend.goaway();
  await new Promise((r) => setTimeout(r, 50));
  t.same(seen, [1]);
  t.equal(backend.sessions, 2);
  session.destroy();
  second.destroy();
  await backend.stop();
});

t.test('custom handler, refuse, kill, waitForStreams', async (t) => {
  const backend = await startRawH2Backend({
    handler: (stream, _headers, ctx) => {
      stream.resume();
      stream.on('end', () => respondGrpc(stream, [Buffer.from(`s${ctx.sessionNumber}n${ctx.streamNumber}`)], { trailers: { 'x-t': '1' } }));
    },
  });
  const session = http2.connect(`http://${backend.address}`);
  session.on('error', () => undefined);
  const wait = backend.waitForStreams(2, 2000);
  const [a, b] = await Promise.all([request(session, {}), request(session, {})]);
  await wait;
  t.same([a, b].map((r) => unframeMessages(r.body)[0]?.message.toString()).sort(), ['s1n1', 's1n2']);
  t.equal(a.trailers?.['x-t'], '1');
  await t.rejects(backend.waitForStreams(3, 100), /saw 2 of 3 streams/);

  backend.refuseConnections(true);
  const refused = http2.connect(`http://${backend.address}`);
  const refusedErr = await new Promise<unknown>((resolve) => {
    refused.on('error', resolve);
    refused.on('close', () => resolve('closed'));
  });
  t.ok(refusedErr, 'refused connection fails');
  t.equal(backend.sessions, 1);
  backend.refuseConnections(false);
  backend.resetCounters();
  t.equal(backend.streams, 0);

  const hanging = new Promise<void>((resolve) => {
    const stream = session.request({ ':method': 'POST', ':path': '/x', 'content-type': 'application/grpc' });
    stream.on('error', () => resolve());
    stream.on('close', () => resolve());
  });
  backend.setHandler(() => undefined); // never answers
  await new Promise((r) => setTimeout(r, 50));
  backend.kill();
  await hanging;
  t.pass('kill ends streams in flight');
  session.destroy();
});
