/**
 * `npm start`: the Dubbo mesh sample on one machine, with Legate as the sidecar.
 *
 * Starts two fake Dubbo/gRPC providers (v1 on 127.0.0.1:50061, v2 on :50062, both
 * serving org.apache.dubbo.samples.Greeter, helloworld.Greeter and grpc.health.v1),
 * then Legate with config/demo.yaml (listener 127.0.0.1:10000 splitting calls 80/20
 * between the v1 and v2 clusters, admin on 127.0.0.1:9901), prints commands to try,
 * and runs until Ctrl-C. Needs nothing but Node.
 *
 * Flags: `--providers-only` starts just the two providers (call them directly with
 * `node dist/demo/call.js --target 127.0.0.1:50061`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isPortInUse } from '../test/fakes/free-port';
import { frameMessage } from '../test/fakes/grpc-frame';
import { startGrpcBackend, type GrpcBackend } from '../test/fakes/grpc-backend';
import { legateCommand, startLegate, type LegateProcess } from '../test/fakes/legate-process';
import { messageCodec } from '../test/fakes/proto-service';
import { repoRoot } from '../test/fakes/repo-root';
import { DEMO, DEMO_TARGET } from './demo-ports';

const log = (line: string): void => {
  process.stderr.write(`[demo] ${line}\n`);
};

async function main(): Promise<number> {
  const providersOnly = process.argv.includes('--providers-only');
  const ports = providersOnly
    ? [DEMO.providerV1Port, DEMO.providerV2Port]
    : [DEMO.providerV1Port, DEMO.providerV2Port, DEMO.listenerPort, DEMO.adminPort];
  const taken: number[] = [];
  for (const port of ports) if (await isPortInUse(port, DEMO.host)) taken.push(port);
  if (taken.length > 0) {
    log(`port(s) ${taken.join(', ')} on ${DEMO.host} are already in use; the demo needs ${ports.join(', ')}.`);
    log(`Is another demo still running? Find it with: ss -ltnp | grep -E ':(${ports.join('|')})\\b'`);
    return 1;
  }

  const providers: GrpcBackend[] = [];
  let legate: LegateProcess | undefined;
  let stopping = false;
  const shutdown = async (why: string, code: number): Promise<number> => {
    if (stopping) return code;
    stopping = true;
    log(`${why}; stopping…`);
    if (legate !== undefined) {
      const exit = await legate.stop('SIGTERM', 5000);
      log(`Legate exited (code ${exit.code}, signal ${exit.signal})`);
    }
    await Promise.all(providers.map((p) => p.stop(500)));
    log('providers stopped. Bye.');
    return code;
  };

  for (const [name, port] of [
    [DEMO.providerV1Name, DEMO.providerV1Port],
    [DEMO.providerV2Name, DEMO.providerV2Port],
  ] as const) {
    const provider = await startGrpcBackend({ name, port, host: DEMO.host, services: ['dubbo', 'helloworld', 'health'] });
    providers.push(provider);
    log(`provider ${name} serving org.apache.dubbo.samples.Greeter, helloworld.Greeter, grpc.health.v1.Health on ${provider.address}`);
  }

  if (!providersOnly) {
    const configPath = path.join(repoRoot(), 'config', 'demo.yaml');
    const { command, args } = legateCommand();
    const entry = args[0] ?? command;
    if (!fs.existsSync(entry)) {
      log(`Legate is not built: ${path.relative(repoRoot(), entry)} does not exist. Run \`npm run build\` first.`);
      return shutdown('cannot start Legate', 1);
    }
    const shown = [command === process.execPath ? 'node' : path.relative(repoRoot(), command), ...args.map((a) => path.relative(repoRoot(), a))];
    log(`starting Legate: ${shown.join(' ')} -c config/demo.yaml`);
    try {
      legate = await startLegate({ configPath, echo: true, readyTimeoutMs: 20000 });
    } catch (err) {
      log((err as Error).message);
      return shutdown('Legate failed to start', 1);
    }
    void legate.exited.then(async (exit) => {
      if (stopping) return;
      log(`Legate exited on its own (code ${exit.code}, signal ${exit.signal})`);
      process.exitCode = await shutdown('Legate is gone', 1);
    });
  }

  printHowTo(providersOnly);

  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        legate?.kill();
        for (const p of providers) p.kill();
        process.exit(130);
      }
      void shutdown(`got ${signal}`, 0).then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

function printHowTo(providersOnly: boolean): void {
  const body = path.join(os.tmpdir(), 'legate-demo-greet.bin');
  const hello = messageCodec<{ name: string }>('dubbo_greeter.proto', 'org.apache.dubbo.samples.GreeterRequest');
  fs.writeFileSync(body, frameMessage(hello.encode({ name: 'world' })));
  const target = providersOnly ? `${DEMO.host}:${DEMO.providerV1Port}` : DEMO_TARGET;
  const lines = providersOnly
    ? [
        '',
        'Providers are up (no proxy). Call one directly:',
        `  node dist/demo/call.js --n 10 --target ${target}`,
        '',
        'Ctrl-C to stop.',
        '',
      ]
    : [
        '',
        `Legate is up: listener ${DEMO_TARGET} (80% → v1, 20% → v2), admin http://${DEMO.host}:${DEMO.adminPort}`,
        '',
        'Try it from another terminal (from the repository root):',
        `  node dist/demo/call.js --n 20                      # 20 greet calls over ONE connection; expect about 16 v1 / 4 v2`,
        `  node dist/demo/call.js --n 200 --method SayHello   # helloworld.Greeter/SayHello`,
        `  node dist/demo/call.js --n 20 --target ${DEMO.host}:${DEMO.providerV1Port}   # bypass Legate: all v1`,
        '',
        'For the curious:',
        `  curl -s http://${DEMO.host}:${DEMO.adminPort}/ready`,
        `  curl -s http://${DEMO.host}:${DEMO.adminPort}/clusters`,
        `  curl -s http://${DEMO.host}:${DEMO.adminPort}/server_info`,
        `  h2load -n 2000 -c 2 -m 10 -d ${body} -H 'content-type: application/grpc' -H 'te: trailers' http://${DEMO_TARGET}/org.apache.dubbo.samples.Greeter/greet`,
        '    (h2load: Debian/Ubuntu package nghttp2-client; it counts HTTP status only, not grpc-status)',
        '',
        'Access-log lines (Istio default format) appear below. Ctrl-C to stop.',
        '',
      ];
  process.stderr.write(lines.join('\n') + '\n');
}

main().then(
  (code) => {
    process.exitCode = code;
    if (code !== 0) setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
