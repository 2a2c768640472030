/**
 * Heap allocation and CPU per proxied call, Legate build against Legate build, in one run:
 * the number that hot-path work moves most reliably on a noisy machine (CPU time swings
 * with the load, allocated bytes barely do).
 *
 *   node dist/bench/macro/alloc-per-call.js --baseline /path/to/other/dist/src/main.js [--rounds 3] [--calls 20000]
 *
 * Each Legate runs with `--trace-gc` and a fixed 16 MiB young generation; bytes allocated in
 * a window are summed from the trace (heap size before each GC minus heap size after the GC
 * before it). Workload: the side-by-side bench's small unary through its bootstrap, h2load
 * `-c 10 -m 10`, after 3,000 warm-up calls. Rounds alternate which build goes first.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { helloRequest, grpcFrame } from '../load/grpc-load';
import { startBackend } from './backend-process';
import { runH2load } from './h2load';
import { cpuSeconds } from './proc-stats';
import { startPath } from './proxies';

const GC_LINE = /(Scavenge|Mark-Compact|Mark-sweep)[^\d]*?([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/;

interface GcTotals {
  readonly scavenges: number;
  readonly fullGcs: number;
  /** MB allocated between the first and the last GC of the window. */
  readonly allocatedMB: number;
}

/** Sums a `--trace-gc` window: allocation between consecutive GCs is before(i) − after(i−1). */
function gcTotals(lines: readonly string[]): GcTotals {
  let scavenges = 0;
  let fullGcs = 0;
  let allocated = 0;
  let lastAfter: number | undefined;
  for (const line of lines) {
    const m = GC_LINE.exec(line);
    if (!m) continue;
    if (m[1] === 'Scavenge') scavenges++;
    else fullGcs++;
    const before = Number(m[2]);
    if (lastAfter !== undefined) allocated += Math.max(0, before - lastAfter);
    lastAfter = Number(m[4]);
  }
  return { scavenges, fullGcs, allocatedMB: allocated };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { baseline: { type: 'string' }, rounds: { type: 'string' }, calls: { type: 'string' } } });
  if (!values.baseline) throw new Error('--baseline <other build\'s dist/src/main.js> is required');
  const rounds = Number(values.rounds ?? 3);
  const calls = Number(values.calls ?? 20_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-alloc-'));
  const bodyFile = path.join(tmp, 'unary.bin');
  fs.writeFileSync(bodyFile, grpcFrame(helloRequest(12)));
  const backend = await startBackend();
  const nodeArgs = ['--trace-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'];
  const rows: { name: string; kbPerCall: number; scavengesPer10k: number; cpuUs: number; rps: number }[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (['legate-base', 'legate'] as const) : (['legate', 'legate-base'] as const);
      for (const name of order) {
        const p = await startPath(name, backend.port, tmp, [], nodeArgs, values.baseline);
        try {
          const url = `http://${p.target}/helloworld.Greeter/SayHello`;
          await runH2load({ url, bodyFile, requests: 3000, clients: 10, streams: 10 });
          const stdout = p.stdout;
          const linesBefore = stdout?.length ?? 0;
          const served0 = await backend.requests();
          const cpu0 = cpuSeconds(p.pid!);
          const h2 = await runH2load({ url, bodyFile, requests: calls, clients: 10, streams: 10 });
          const cpu = cpuSeconds(p.pid!) - cpu0;
          const served = (await backend.requests()) - served0;
          const gc = gcTotals((stdout ?? []).slice(linesBefore));
          const row = {
            name,
            kbPerCall: (gc.allocatedMB * 1024) / served,
            scavengesPer10k: (gc.scavenges * 10_000) / served,
            cpuUs: (cpu * 1e6) / served,
            rps: h2.reqPerSec,
          };
          rows.push(row);
          console.log(`[alloc] round ${r + 1} ${name}: ${row.kbPerCall.toFixed(1)} KB/call, ${row.scavengesPer10k.toFixed(1)} scavenges/10k calls, ${row.cpuUs.toFixed(1)} µs CPU/call, ${Math.round(row.rps)} calls/s (${served} served)`);
        } finally {
          await p.stop();
        }
      }
    }
  } finally {
    backend.stop();
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)]!;
  };
  for (const name of ['legate-base', 'legate']) {
    const mine = rows.filter((x) => x.name === name);
    console.log(`[alloc] median ${name}: ${median(mine.map((x) => x.kbPerCall)).toFixed(1)} KB/call, ${median(mine.map((x) => x.scavengesPer10k)).toFixed(1)} scavenges/10k, ${median(mine.map((x) => x.cpuUs)).toFixed(1)} µs CPU/call, ${Math.round(median(mine.map((x) => x.rps)))} calls/s`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
