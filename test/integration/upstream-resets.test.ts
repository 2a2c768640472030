import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import t from 'tap';
import { createTestClient } from '../fakes/grpc-client';
import { frameMessage } from '../fakes/grpc-frame';
import { freePort, startLegate } from '../fakes/legate-process';
import { respondGrpc, startRawH2Backend } from '../fakes/raw-h2-backend';
import { bootstrapText } from './bootstrap-builder';

const LOG = '%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %GRPC_STATUS% %REQ(x-case)%\n';

t.test('upstream resets: before headers, mid-response, and RST_STREAM(NO_ERROR) after a complete response', async (t) => {
  const backend = await startRawH2Backend({ name: 'resetter' });
  t.teardown(() => backend.stop(100));
  backend.setHandler((stream, headers) => {
    const c = headers['x-case'];
    if (c === 'reset-before-headers') {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    } else if (c === 'reset-mid-response') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(frameMessage(Buffer.from([0x0a, 0x01, 0x61])));
      setTimeout(() => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 20);
    } else if (c === 'complete-then-rst-no-error') {
      // grpc-go's habit: answer in full before reading the request, then RST_STREAM(NO_ERROR).
      respondGrpc(stream, [Buffer.from([0x0a, 0x02, 0x6f, 0x6b])], { status: 0, trailers: { 'x-done': 'yes' } });
      stream.on('close', () => undefined);
      setTimeout(() => { if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR); }, 10);
    } else {
      respondGrpc(stream, [Buffer.from([])], { status: 0 });
    }
  });
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const proxy = await startLegate({ configYaml: bootstrapText({ adminPort, listenerPort, accessLogFormat: LOG, clusters: [{ name: 'svc', endpoints: [backend.address] }] }) });
  t.teardown(() => proxy.stop());
  const client = createTestClient('helloworld', `127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());

  const before = await client.unarySettled('SayHello', { name: 'x' }, { metadata: { 'x-case': 'reset-before-headers' } });
  t.equal(before.status.code, grpc.status.UNAVAILABLE, 'reset before headers → UNAVAILABLE');
  t.match(before.status.details, /upstream connect error or disconnect\/reset before headers\. reset reason: remote reset/);
  t.ok(await proxy.waitForLine(/^200 UR upstream_reset_before_response_started\{remote_reset\} Unavailable reset-before-headers$/));

  const mid = await client.unarySettled('SayHello', { name: 'x' }, { metadata: { 'x-case': 'reset-mid-response' } });
  t.not(mid.status.code, grpc.status.OK, `reset mid-response is an error for the client (${mid.status.code} ${mid.status.details})`);
  t.ok(await proxy.waitForLine(/^200 UR upstream_reset_after_response_started\{remote_reset\} - reset-mid-response$/));

  const ok = await client.unarySettled<{ name: string }, { message: string }>('SayHello', { name: 'x' }, { metadata: { 'x-case': 'complete-then-rst-no-error' } });
  t.equal(ok.status.code, grpc.status.OK, 'a complete response followed by RST_STREAM(NO_ERROR) is a success');
  t.equal(ok.trailers.get('x-done')[0], 'yes', 'its trailers were delivered');
  t.ok(await proxy.waitForLine(/^200 - via_upstream OK complete-then-rst-no-error$/));
});
