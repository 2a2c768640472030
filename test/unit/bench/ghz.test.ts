// The benchmark's ghz phase (bench/macro/ghz.ts): the command line it builds is ghz's as ghz
// documents it, the methods it names exist in the protos it passes, and a run against the real
// bench echo backend yields a ghz report. ghz itself cannot be installed on this machine, so the
// runs go through test/fakes/ghz-standin.ts, which takes only ghz's options and makes the calls
// for real. Also the report's ghz column: there when ghz ran, absent when it did not.
import t from 'tap';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ghzArgs, ghzMethod, ghzVersion, runGhz, type GhzRun } from '../../../bench/macro/ghz';
import { renderSideBySide, type Cell } from '../../../bench/macro/side-by-side-report';
import { startH2GrpcEcho } from '../../../bench/servers/h2-grpc-echo';
import { resolveCall, STANDIN_VERSION } from '../../fakes/ghz-standin';
import { repoRoot } from '../../fakes/repo-root';

const STANDIN_JS = path.join(repoRoot(), 'dist', 'test', 'fakes', 'ghz-standin.js');

/** An executable `ghz` in a temp dir that runs the stand-in. */
function standinBinary(dir: string): string {
  const file = path.join(dir, 'ghz');
  fs.writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" "${STANDIN_JS}" "$@"\n`, { mode: 0o755 });
  return file;
}

/** ghz's long options (ghz.sh/docs/options) that the bench may use. */
const GHZ_OPTIONS = new Set(['--insecure', '--proto', '--call', '--data-file', '--metadata', '--connections', '--concurrency', '--duration', '--rps', '--timeout', '--name', '--format', '--output']);

const run = (over: Partial<GhzRun> = {}): GhzRun => ({
  binary: 'ghz', target: '127.0.0.1:1', nameBytes: 12, responseMessages: 1, connections: 10, concurrency: 100, durationS: 5, rps: 0, dir: '/tmp', name: 'n', ...over,
});

t.test('the command line is ghz\'s', async (t) => {
  const unary = ghzArgs(run(), '/d.json', '/o.json');
  t.same(unary.filter((a) => a.startsWith('-')).filter((a) => !GHZ_OPTIONS.has(a)), [], 'only ghz\'s documented options');
  const value = (args: string[], flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  t.equal(value(unary, '--call'), 'helloworld.Greeter.SayHello');
  t.equal(value(unary, '--proto'), path.join(repoRoot(), 'protos', 'helloworld.proto'));
  t.equal(value(unary, '--duration'), '5000ms');
  t.equal(value(unary, '--format'), 'json');
  t.equal(value(unary, '--output'), '/o.json');
  t.equal(value(unary, '--data-file'), '/d.json');
  t.equal(unary.at(-1), '127.0.0.1:1', 'the target last, as ghz\'s one positional');
  t.notOk(unary.includes('--rps'), 'closed loop: no rate');
  t.notOk(unary.includes('--metadata'), 'unary: no streaming header');
  t.equal(value(ghzArgs(run({ connections: 10, concurrency: 4 }), '/d', '/o'), '--concurrency'), '10', 'ghz refuses fewer callers than connections');
  t.equal(value(ghzArgs(run({ rps: 1000 }), '/d', '/o'), '--rps'), '1000');

  const streaming = ghzArgs(run({ responseMessages: 100 }), '/d', '/o');
  t.equal(value(streaming, '--call'), 'legate.bench.StreamingGreeter.SayHello');
  t.same(JSON.parse(value(streaming, '--metadata')!), { 'bench-stream-messages': '100' });
});

t.test('the methods named are in the protos passed, with the right shape', async (t) => {
  const unary = ghzMethod(1);
  const u = resolveCall(unary.proto, unary.call);
  t.equal(u.path, '/helloworld.Greeter/SayHello', 'the :path h2load and our generator load');
  t.equal(u.serverStreaming, false);
  const streaming = ghzMethod(100);
  const s = resolveCall(streaming.proto, streaming.call);
  t.equal(s.serverStreaming, true);
  t.throws(() => resolveCall(unary.proto, 'helloworld.Greeter.SayGoodbye'), /has no method SayGoodbye/);
});

t.test('runs against the echo backend through a ghz command line', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghz-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const binary = standinBinary(dir);
  t.equal(ghzVersion(binary), `ghz ${STANDIN_VERSION}`);
  t.equal(ghzVersion(path.join(dir, 'no-such-ghz')), undefined, 'a missing binary: no version, column left out');

  const backend = await startH2GrpcEcho();
  t.teardown(() => backend.close());
  const target = `127.0.0.1:${backend.port}`;
  for (const responseMessages of [1, 10]) {
    const before = backend.requests;
    const report = await runGhz(run({ binary, target, responseMessages, connections: 2, concurrency: 4, durationS: 0.3, dir, name: `r${responseMessages}` }));
    t.ok(report.count > 0, `${responseMessages} message(s): calls made`);
    t.equal(report.statusCodeDistribution['OK'], report.count, `${responseMessages} message(s): all OK`);
    t.ok(report.rps > 0);
    t.equal(backend.requests - before, report.count, 'every call reached the backend');
  }
  // What real ghz would fail on, the stand-in fails on too: a unary method answered with many messages.
  const unaryMethod = ghzMethod(1);
  const refused = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(binary, ['--insecure', '--proto', unaryMethod.proto, '--call', unaryMethod.call, '-m', '{"bench-stream-messages":"5"}', '-n', '1', target], (err, _o, stderr) =>
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code), stderr })),
  );
  t.equal(refused.code, 1);
  t.match(refused.stderr, /is unary, but bench-stream-messages asks the backend for 5 messages/);
  await t.rejects(runGhz(run({ binary: path.join(dir, 'no-such-ghz'), target, dir })), /ENOENT/);
  const unknown = await new Promise<string>((resolve) => execFile(binary, ['--insecure', '--qps', '5', target], (_e, _o, stderr) => resolve(stderr)));
  t.match(unknown, /Unknown option '--qps'/, 'options ghz does not have are refused');
});

t.test('the report has a ghz column only when ghz ran', async (t) => {
  const cell = (path: string, ghz?: number): Cell => ({
    workload: 'w', path, h2loadCallsPerS: 1000, genCallsPerS: 900, ...(ghz !== undefined ? { ghzCallsPerS: ghz } : {}),
    cpuUsPerCallMax: path === 'direct' ? undefined : 30, cpuUsPerCallAtRate: undefined, openRate: 100, openAchieved: 100,
    p50Us: 100, p99Us: 200, p999Us: 300, idleRssMiB: undefined, peakRssMiB: undefined, errors: 0,
  });
  const info = { date: 'd', machine: 'm', load: 'l', commit: 'c', versions: 'v', settings: 's', chart: undefined, skipped: [] };
  const workloads = [{ id: 'w', title: 'W', openRate: 100 }];
  const withGhz = renderSideBySide(info, workloads, [cell('direct', 800), cell('legate', 400)]);
  t.match(withGhz, /\| path \| calls\/s \(h2load\) \| calls\/s \(node gen\) \| calls\/s \(ghz\) \| proxy CPU/);
  t.match(withGhz, /\| legate \| 1,000 \| 900 \| 400 \| 30\.0 \|/);
  t.match(withGhz, /\| direct \| 1\.00× \| 1\.00× \| 0\.50× \|/, 'Legate vs direct, ghz calls/s ratio');
  const without = renderSideBySide({ ...info, skipped: ['ghz (not installed)'] }, workloads, [cell('direct'), cell('legate')]);
  t.notMatch(without, /ghz\) \|/);
  t.match(without, /\| legate \| 1,000 \| 900 \| 30\.0 \|/);
  t.match(without, /Not measured: ghz \(not installed\)\./);
});
