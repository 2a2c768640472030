import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate, writeTempConfig } from '../fakes/legate-process';
import { bootstrapJson } from './bootstrap-builder';
import { runLegate } from './run-legate';

type Hcm = { access_log?: unknown[] };
function hcmOf(b: Record<string, unknown>): Hcm {
  const sr = b['static_resources'] as { listeners: Array<{ filter_chains: Array<{ filters: Array<{ typed_config: Hcm }> }> }> };
  return sr.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config;
}

async function waitForFile(file: string, pattern: RegExp, timeoutMs = 5000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (pattern.test(text) || Date.now() > end) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('file access log with a filter, a flush interval and reopen on SIGUSR1', async (t) => {
  const backend = await startGrpcBackend({ name: 'b', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-al-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const logFile = path.join(dir, 'access.log');
  const listenerPort = await freePort();
  const b = bootstrapJson({ adminPort: await freePort(), listenerPort, clusters: [{ name: 'svc', endpoints: [backend.address] }] });
  hcmOf(b).access_log = [{
    name: 'envoy.access_loggers.file',
    // Only failed gRPC calls are logged.
    filter: { grpc_status_filter: { statuses: ['OK'], exclude: true } },
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
      path: logFile,
      log_format: { text_format_source: { inline_string: '%GRPC_STATUS% %RESPONSE_FLAGS% %REQ(x-call)%\n' } },
    },
  }];
  const proxy = await startLegate({ configYaml: JSON.stringify(b), args: ['--file-flush-interval-msec', '100'] });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  await client.unary({}, { metadata: { 'x-call': 'ok-1' } });
  await client.unarySettled({ reply_status: 5, reply_message: 'nope' }, { metadata: { 'x-call': 'failed-1' } });
  const text = await waitForFile(logFile, /failed-1/);
  t.equal(text, 'NotFound - failed-1\n', 'only the failed call was logged, flushed within the interval');

  fs.renameSync(logFile, `${logFile}.1`);
  proxy.child.kill('SIGUSR1');
  await new Promise((r) => setTimeout(r, 200));
  await client.unarySettled({ reply_status: 14 }, { metadata: { 'x-call': 'failed-2' } });
  t.equal(await waitForFile(logFile, /failed-2/), 'Unavailable - failed-2\n', 'after SIGUSR1 the log reopens at its path');
  t.equal(fs.readFileSync(`${logFile}.1`, 'utf8'), 'NotFound - failed-1\n', 'the rotated file keeps what it had');
});

t.test('a bad access-log operator is a config error naming the field, not a crash', async (t) => {
  const b = bootstrapJson({ adminPort: await freePort(), listenerPort: await freePort(), clusters: [{ name: 'svc', endpoints: ['127.0.0.1:1'] }] });
  hcmOf(b).access_log = [{
    name: 'envoy.access_loggers.stdout',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', log_format: { text_format: '%NOT_AN_OPERATOR%\n' } },
  }];
  const r = runLegate(['--mode', 'validate', '-c', writeTempConfig(JSON.stringify(b, null, 2))]);
  t.equal(r.code, 1);
  t.match(r.stderr, /access_log\[0\]\.typed_config: unknown access log command operator %NOT_AN_OPERATOR%/);
});
