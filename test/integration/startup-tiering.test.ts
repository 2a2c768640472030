/**
 * V8's optimizing compiler held off while a real Legate starts, and back on before it serves
 * (src/common/startup-tiering.ts): for a sidecar bootstrap, once the server has started; for one
 * over 2 MiB, before it is decoded; in each `--concurrency` worker, once its first snapshot is
 * applied. Observed with a preload that records V8 flag changes (test/fakes/tiering-probe-preload.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { sidecarBootstrap } from '../../bench/macro/sidecar-bootstrap';
import { freePort, startLegate } from '../fakes/legate-process';
import { readCompleteLines } from '../fakes/complete-lines';
import type { TieringCall } from '../fakes/tiering-probe-preload';

const PRELOAD = path.join(__dirname, '..', 'fakes', 'tiering-probe-preload.js');

/** Whether `fn` (bare or as a method, `Object.fn`) is on a recorded stack. */
const onStack = (c: TieringCall, fn: string): boolean => c.stack.some((f) => f === fn || f.endsWith(`.${fn}`));

async function startRecorded(t: Test, services: number, args: readonly string[] = []): Promise<{ calls: () => TieringCall[]; pid: number; configBytes: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-tiering-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const adminPort = await freePort();
  const configPath = path.join(dir, 'bootstrap.json');
  fs.writeFileSync(configPath, JSON.stringify(sidecarBootstrap({ services, adminPort, listenerPort: await freePort(), backendPort: await freePort() })));
  const out = path.join(dir, 'calls.jsonl');
  const proxy = await startLegate({ configPath, adminPort, args, nodeArgs: ['-r', PRELOAD], env: { LEGATE_TIERING_PROBE_OUT: out } });
  t.teardown(() => proxy.stop());
  // Workers append their own lines while the test may be reading.
  const calls = (): TieringCall[] => readCompleteLines(out).map((l) => JSON.parse(l) as TieringCall);
  return { calls, pid: proxy.pid, configBytes: fs.statSync(configPath).size };
}

t.test('a sidecar bootstrap starts held and is released once the server has started', async (t) => {
  const { calls, pid, configBytes } = await startRecorded(t, 100);
  t.ok(configBytes < 2 * 1024 * 1024, `the bootstrap is small (${configBytes} bytes)`);
  const mine = calls().filter((c) => c.pid === pid);
  t.same(mine.map((c) => c.flags), ['--no-opt', '--opt'], 'held at start, released by /ready');
  t.ok(onStack(mine[0]!, 'holdOptimizingCompiler'), 'held by bin/legate');
  t.ok(onStack(mine[1]!, 'main'), `released by main: ${mine[1]!.stack.join(' < ')}`);
  t.notOk(onStack(mine[1]!, 'noteConfigBytes'), 'not for the size of the configuration');
});

t.test('a bootstrap over 2 MiB is decoded with the optimizing compiler on', async (t) => {
  const { calls, pid, configBytes } = await startRecorded(t, 1200);
  t.ok(configBytes > 2 * 1024 * 1024, `the bootstrap is big (${configBytes} bytes)`);
  const mine = calls().filter((c) => c.pid === pid);
  t.same(mine.map((c) => c.flags), ['--no-opt', '--opt'], 'released once, not again after the start');
  t.ok(onStack(mine[1]!, 'noteConfigBytes'), `released for its size, before loading it: ${mine[1]!.stack.join(' < ')}`);
});

t.test('each --concurrency worker is released once its first snapshot is applied', async (t) => {
  const { calls, pid } = await startRecorded(t, 10, ['--concurrency', '2']);
  let workers: Map<number, string[]> = new Map();
  for (let i = 0; i < 100; i++) {
    workers = new Map();
    for (const c of calls().filter((c) => c.pid !== pid)) workers.set(c.pid, [...(workers.get(c.pid) ?? []), c.flags]);
    if (workers.size === 2 && [...workers.values()].every((f) => f.length === 2)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(workers.size, 2, 'two workers');
  for (const [w, flags] of workers) t.same(flags, ['--no-opt', '--opt'], `worker ${w}: held, then released`);
  const releases = calls().filter((c) => c.pid !== pid && c.flags === '--opt');
  t.ok(releases.every((c) => onStack(c, 'apply')), 'released where the snapshot was applied');
  t.same(calls().filter((c) => c.pid === pid).map((c) => c.flags), ['--no-opt', '--opt'], 'the primary too');
});
