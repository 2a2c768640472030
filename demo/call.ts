/**
 * Demo client: calls the Dubbo sample's Greeter (or helloworld.Greeter) N times over
 * ONE HTTP/2 connection and prints how many calls each provider answered, so the
 * per-call 80/20 split done by Legate is visible.
 *
 *   node dist/demo/call.js [--n 20] [--target 127.0.0.1:10000] [--method greet|SayHello]
 *                          [--name world] [--concurrency 1] [--deadline-ms 5000]
 *
 * Exit code 0 when every call succeeded, 1 otherwise.
 */
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { backendOfGreeting } from '../test/fakes/greeter-services';
import { createTestClient, type UnaryOutcome } from '../test/fakes/grpc-client';
import type { GreeterReply } from '../test/fakes/test-services';
import { DEMO_TARGET } from './demo-ports';

const USAGE = `usage: node dist/demo/call.js [--n 20] [--target ${DEMO_TARGET}] [--method greet|SayHello] [--name world] [--concurrency 1] [--deadline-ms 5000]`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '20' },
      target: { type: 'string', default: DEMO_TARGET },
      method: { type: 'string', default: 'greet' },
      name: { type: 'string', default: 'world' },
      concurrency: { type: 'string', default: '1' },
      'deadline-ms': { type: 'string', default: '5000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const n = Number(values.n);
  const concurrency = Math.max(1, Number(values.concurrency));
  const deadlineMs = Number(values['deadline-ms']);
  if (!Number.isInteger(n) || n < 1 || !Number.isFinite(concurrency) || !Number.isFinite(deadlineMs)) {
    console.error(USAGE);
    return 2;
  }
  const kind = values.method === 'SayHello' ? 'helloworld' : values.method === 'greet' ? 'dubbo' : undefined;
  if (kind === undefined) {
    console.error(`unknown --method ${values.method}; use greet or SayHello\n${USAGE}`);
    return 2;
  }
  const method = values.method;
  const client = createTestClient(kind, values.target);
  const path = kind === 'dubbo' ? '/org.apache.dubbo.samples.Greeter/greet' : '/helloworld.Greeter/SayHello';

  const tally = new Map<string, number>();
  const failures = new Map<string, number>();
  let next = 0;
  const started = Date.now();
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const outcome: UnaryOutcome<GreeterReply> = await client.unarySettled(method, { name: values.name }, { deadlineMs });
      if (outcome.ok && outcome.response !== undefined) {
        const backend = backendOfGreeting(outcome.response.message) ?? outcome.headers?.get('x-backend-name')[0]?.toString() ?? '(unknown)';
        tally.set(backend, (tally.get(backend) ?? 0) + 1);
      } else {
        const key = `${grpc.status[outcome.status.code] ?? outcome.status.code}: ${outcome.status.details}`;
        failures.set(key, (failures.get(key) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  const elapsedMs = Date.now() - started;
  client.close();

  console.log(`${n} calls to ${path} via ${values.target}, one HTTP/2 connection, ${elapsedMs} ms:`);
  const width = Math.max(8, ...[...tally.keys()].map((k) => k.length));
  for (const [backend, count] of [...tally.entries()].sort()) {
    const pct = ((count / n) * 100).toFixed(0).padStart(3);
    console.log(`  ${backend.padEnd(width)} ${String(count).padStart(5)}  ${pct}%  ${'#'.repeat(Math.round((count / n) * 40))}`);
  }
  let failed = 0;
  for (const [why, count] of failures) {
    failed += count;
    console.log(`  ${'failed'.padEnd(width)} ${String(count).padStart(5)}  ${why}`);
  }
  if (failures.size > 0 && [...failures.keys()].some((k) => k.startsWith('UNAVAILABLE'))) {
    console.log(`  (is anything listening on ${values.target}? start the demo with \`npm start\`)`);
  }
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error((err as Error).stack ?? String(err));
    process.exitCode = 1;
  },
);
