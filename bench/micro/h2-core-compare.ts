/**
 * Issue #8's evaluation: the frame-level HTTP/2 core (src/h2) against node:http2, both as the
 * barest pass-through (bench/servers/passthrough-*.ts), same backend, same h2load load,
 * rounds alternated. Reports proxy CPU µs per call (from /proc) and calls/s per round.
 *
 *   node dist/bench/micro/h2-core-compare.js [--rounds 3] [--calls 20000] [--body 0|1024|65536]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../test/fakes/repo-root';
import { startBackend } from '../macro/backend-process';
import { runH2load } from '../macro/h2load';
import { cpuSeconds, peakRssMiB } from '../macro/proc-stats';

const { values } = parseArgs({ options: {
  rounds: { type: 'string', default: '3' },
  calls: { type: 'string', default: '20000' },
  body: { type: 'string', default: '0' },
  clients: { type: 'string', default: '10' },
  streams: { type: 'string', default: '10' },
} });

interface Proxy { readonly child: ChildProcess; readonly port: number }

async function startProxy(script: string, upstreamPort: number): Promise<Proxy> {
  const child = spawn(process.execPath, [path.join(repoRoot(), 'dist', 'bench', 'servers', script), '--upstream-port', String(upstreamPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').once('data', (line: string) => resolve((JSON.parse(line.split('\n')[0]!) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`${script} exited (${code})`)));
  });
  return { child, port };
}

function grpcBody(payloadBytes: number): string {
  // helloworld.HelloRequest { name: 'x' * n } in a gRPC frame.
  const name = Buffer.alloc(payloadBytes, 'x');
  const lenBytes: number[] = [];
  let n = name.length;
  do { lenBytes.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n >>>= 7; } while (n > 0);
  const msg = Buffer.concat([Buffer.from([0x0a, ...lenBytes]), name]);
  const frame = Buffer.alloc(5 + msg.length);
  frame.writeUInt32BE(msg.length, 1);
  msg.copy(frame, 5);
  const file = path.join(os.tmpdir(), `legate-core-compare-${payloadBytes}.bin`);
  fs.writeFileSync(file, frame);
  return file;
}

async function main(): Promise<void> {
  const rounds = Number(values.rounds);
  const calls = Number(values.calls);
  const bodyFile = grpcBody(Number(values.body));
  const backend = await startBackend();
  const paths = [
    { name: 'node:http2 pass-through', script: 'passthrough-node-h2.js' },
    { name: 'frame-core pass-through', script: 'passthrough-frame-core.js' },
  ];
  const rows: string[] = [];
  const cpu = new Map<string, number[]>();
  for (let r = 1; r <= rounds; r++) {
    for (const p of r % 2 === 1 ? paths : [...paths].reverse()) {
      const proxy = await startProxy(p.script, backend.port);
      const url = `http://127.0.0.1:${proxy.port}/helloworld.Greeter/SayHello`;
      await runH2load({ url, bodyFile, requests: 2000, clients: Number(values.clients), streams: Number(values.streams) });
      const before = cpuSeconds(proxy.child.pid!);
      const res = await runH2load({ url, bodyFile, requests: calls, clients: Number(values.clients), streams: Number(values.streams) });
      const used = cpuSeconds(proxy.child.pid!) - before;
      const perCall = (used * 1e6) / res.succeeded;
      (cpu.get(p.name) ?? cpu.set(p.name, []).get(p.name)!).push(perCall);
      rows.push(`| ${r} | ${p.name} | ${res.succeeded} | ${res.failed + res.errored} | ${Math.round(res.reqPerSec)} | ${perCall.toFixed(1)} | ${peakRssMiB(proxy.child.pid!).toFixed(0)} |`);
      proxy.child.kill('SIGKILL');
    }
  }
  backend.stop();
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const a = median(cpu.get(paths[0]!.name)!);
  const b = median(cpu.get(paths[1]!.name)!);
  process.stdout.write([
    `h2load -c ${values.clients} -m ${values.streams}, ${calls} calls per round, body ${values.body} B, load avg ${os.loadavg()[0]!.toFixed(1)}`,
    '',
    '| round | path | calls ok | failed | calls/s | proxy CPU µs/call | peak RSS MiB |',
    '|---:|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `median CPU µs/call: node:http2 ${a.toFixed(1)}, frame core ${b.toFixed(1)} → frame core / node:http2 = ${(b / a).toFixed(2)}×`,
    '',
  ].join('\n'));
}

void main();
