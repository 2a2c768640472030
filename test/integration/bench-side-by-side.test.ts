// Smoke test of `npm run bench`: the quick mode of the side-by-side harness for
// the direct and Legate columns only, bounded; checks that it runs, that every
// ghz-schema report it wrote parses, and that the table and chart come out.
// Numbers are not asserted (timing goals belong to the benchmark itself).
// ghz cannot be installed here: `--ghz` points at test/fakes/ghz-standin.ts, which takes
// ghz's command line and makes the calls for real, so the ghz phase runs end to end.
import t from 'tap';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseGhzReport } from '../../bench/load/ghz-report';
import { h2loadVersion } from '../../bench/macro/h2load';
import { repoRoot } from '../fakes/repo-root';

t.test('quick side-by-side run, direct + the Node relay + Legate', { skip: h2loadVersion() === undefined ? 'h2load not installed' : false }, async (t) => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
  t.teardown(() => fs.rmSync(outDir, { recursive: true, force: true }));
  const results = path.join(repoRoot(), 'bench', 'RESULTS.md');
  const resultsBefore = fs.readFileSync(results, 'utf8');
  const script = path.join(repoRoot(), 'dist', 'bench', 'macro', 'side-by-side.js');
  // Quick mode, trimmed further: the machine running the suite is often busy, and the bound is 100 s (tap's per-file limit is 120 s).
  const ghz = path.join(outDir, 'ghz');
  fs.writeFileSync(ghz, `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot(), 'dist', 'test', 'fakes', 'ghz-standin.js')}" "$@"\n`, { mode: 0o755 });
  const args = [script, '--quick', '--duration', '0.5', '--open-duration', '0.5', '--warmup', '100', '--paths', 'direct,node-relay,legate,legate-c2', '--workloads', 'unary-small', '--no-append', '--out-dir', outDir, '--ghz', ghz];
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, args, { timeout: 100_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout, stderr }),
    );
  });
  t.equal(run.code, 0, `harness exit code (stderr: ${run.stderr.slice(-2000)})`);
  t.equal(fs.readFileSync(results, 'utf8'), resultsBefore, '--no-append leaves RESULTS.md alone');

  const files = fs.readdirSync(outDir).filter((f) => f !== 'ghz');
  const jsonFile = files.find((f) => f.endsWith('.json'));
  const svgFile = files.find((f) => f.endsWith('.svg'));
  if (jsonFile === undefined || svgFile === undefined) {
    t.fail(`expected a .json and an .svg in the output dir, got ${files.join(', ')}`);
    return;
  }
  const output = JSON.parse(fs.readFileSync(path.join(outDir, jsonFile), 'utf8')) as {
    cells: Array<{ workload: string; path: string; errors: number; cpuUsPerCallMax?: number; h2loadCallsPerS: number; ghzCallsPerS?: number; h2P99Us?: number }>;
    reports: Record<string, Record<string, { closed: unknown; open: unknown; ghz?: unknown }>>;
  };
  t.same(output.cells.map((c) => `${c.workload}/${c.path}`).sort(), ['unary-small/direct', 'unary-small/legate', 'unary-small/legate-c2', 'unary-small/node-relay']);
  for (const cell of output.cells) {
    t.equal(cell.errors, 0, `${cell.workload}/${cell.path}: no failed calls`);
    t.equal(cell.cpuUsPerCallMax === undefined || cell.cpuUsPerCallMax === null, cell.path === 'direct', `${cell.workload}/${cell.path}: proxy CPU only for the proxy`);
    t.ok(typeof cell.h2P99Us === 'number' && cell.h2P99Us > 0, `${cell.workload}/${cell.path}: h2load latency at the fixed rate measured`);
    t.ok(typeof cell.ghzCallsPerS === 'number' && cell.ghzCallsPerS > 0, `${cell.workload}/${cell.path}: ghz calls/s measured`);
    for (const loop of ['closed', 'open', 'ghz'] as const) {
      const report = parseGhzReport(JSON.stringify(output.reports[cell.workload]?.[cell.path]?.[loop]), `${cell.workload}/${cell.path}/${loop}`);
      t.ok(report.count > 0, `${cell.workload}/${cell.path}/${loop}: calls made`);
      t.equal(report.statusCodeDistribution['OK'], report.count, `${cell.workload}/${cell.path}/${loop}: all OK`);
      t.ok(Array.isArray(report.latencyDistribution) && Array.isArray(report.histogram));
    }
  }
  t.match(run.stdout, /\| path \| calls\/s \(h2load\) \| calls\/s \(node gen\) \| calls\/s \(ghz\) \|.*\| h2load paced p50 \/ p99 \/ p99\.9 µs \|/);
  t.match(run.stdout, /ghz 0\.0\.0-legate-standin/, 'the ghz version is in the report');
  t.match(run.stdout, /\| Legate vs \|.*\n\|.*\n\| direct \|/);
  t.match(run.stdout, /h2load paced at the same rate .*one connection, one call at a time \(`-c 1 -m 1 --rps`/, 'the latency method is stated');
  t.match(run.stdout, /`--concurrency 2` \/ `--concurrency 1`: calls\/s \d+\.\d+×/, 'worker scaling ratio reported');
  const svg = fs.readFileSync(path.join(outDir, svgFile), 'utf8');
  t.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.match(svg, />legate</);
  t.match(svg, /<\/svg>\n$/);
});
