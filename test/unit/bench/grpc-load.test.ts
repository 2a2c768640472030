// Our gRPC load generator and its ghz-schema report: percentile and histogram
// maths, and real calls over loopback (the bench echo backend for OK unary and
// server-streaming calls; a raw node:http2 server for error classification).
import t from 'tap';
import http2 from 'node:http2';
import { buildGhzReport, ghzHistogram, nearestRank, parseGhzReport, reportPercentile, type CallSample } from '../../../bench/load/ghz-report';
import { grpcFrame, helloRequest, parseDurationMs, runLoad, type LoadOptions } from '../../../bench/load/grpc-load';
import { startH2GrpcEcho } from '../../../bench/servers/h2-grpc-echo';
import { messageCodec } from '../../fakes/proto-service';

t.test('ghz report maths', async (t) => {
  const samples: CallSample[] = Array.from({ length: 1000 }, (_, i) => ({ startMs: 0, latencyNs: (i + 1) * 1000, status: 'OK', error: '' }));
  samples.push({ startMs: 0, latencyNs: 5e9, status: 'Unavailable', error: 'rpc error: code = Unavailable desc = x' });
  const report = buildGhzReport(samples, { name: 'n', endReason: 'normal', startedMs: 0, totalNs: 2e9, options: {}, details: true });
  t.equal(report.count, 1001);
  t.equal(report.rps, 1001 / 2);
  t.equal(report.fastest, 1000, 'fastest over OK calls');
  t.equal(report.slowest, 1_000_000, 'slowest over OK calls (the 5 s error left out)');
  t.equal(report.average, Math.round((500500 * 1000 + 5e9) / 1001), 'average over all calls');
  t.same(report.statusCodeDistribution, { OK: 1000, Unavailable: 1 });
  t.same(report.errorDistribution, { 'rpc error: code = Unavailable desc = x': 1 });
  t.equal(reportPercentile(report, 50), 500_000);
  t.equal(reportPercentile(report, 99), 990_000);
  t.equal(reportPercentile(report, 99.9), 999_000);
  t.equal(report.details?.length, 1001);
  const hist = report.histogram!;
  t.equal(hist.length, 11);
  t.equal(hist.reduce((a, b) => a + b.count, 0), 1000, 'every OK latency in one bucket');
  t.equal(hist[0]!.mark, 0.000001, 'marks in seconds');
  t.equal(hist[10]!.mark, 0.001);
  t.equal(nearestRank([1, 2, 3, 4], 50), 2);
  t.same(ghzHistogram(new Float64Array([])), []);
  t.same(parseGhzReport(JSON.stringify(report), 'x').count, 1001);
  t.throws(() => parseGhzReport(JSON.stringify({ ...report, rps: 'fast' }), 'r.json'), /r\.json: ghz report field "rps" must be a number/);
  t.equal(parseDurationMs('1.5s'), 1500);
  t.equal(parseDurationMs('200ms'), 200);
  t.throws(() => parseDurationMs('soon'), /bad duration "soon"/);
});

t.test('helloRequest is a valid helloworld.HelloRequest', async (t) => {
  const codec = messageCodec<{ name: string }>('helloworld.proto', 'helloworld.HelloRequest');
  for (const n of [0, 12, 127, 128, 1024, 65536]) t.equal(codec.decode(helloRequest(n)).name.length, n, `${n} bytes`);
  t.same([...grpcFrame(Buffer.from([7, 8])).values()], [0, 0, 0, 0, 2, 7, 8]);
});

const base = (target: string): LoadOptions => ({
  target, call: 'helloworld.Greeter/SayHello', message: helloRequest(12), headers: {}, connections: 2, concurrency: 8,
  total: 200, durationMs: 0, rps: 0, skipFirst: 0, timeoutMs: 5000, details: false, name: 'test',
});

t.test('closed and open loop against the echo backend, unary and streaming', async (t) => {
  const echo = await startH2GrpcEcho();
  t.teardown(() => echo.close());
  const closed = await runLoad(base(`127.0.0.1:${echo.port}`));
  t.equal(closed.count, 200);
  t.same(closed.statusCodeDistribution, { OK: 200 });
  t.equal(echo.requests, 200);
  t.ok(closed.rps > 0 && closed.fastest > 0 && closed.slowest >= closed.fastest);

  const skipped = await runLoad({ ...base(`127.0.0.1:${echo.port}`), skipFirst: 50 });
  t.equal(skipped.count, 150, 'skipFirst leaves the first calls out');

  const started = Date.now();
  const open = await runLoad({ ...base(`127.0.0.1:${echo.port}`), total: 0, durationMs: 500, rps: 100 });
  t.ok(Date.now() - started >= 450, 'open loop runs for its duration');
  t.ok(open.count >= 40 && open.count <= 60, `about 50 calls at 100/s for 0.5 s (got ${open.count})`);

  const stream = await runLoad({ ...base(`127.0.0.1:${echo.port}`), total: 20, headers: { 'bench-stream-messages': '100' } });
  t.same(stream.statusCodeDistribution, { OK: 20 });
});

t.test('errors are classified as ghz does', async (t) => {
  const server = http2.createServer();
  let n = 0;
  server.on('stream', (stream) => {
    stream.on('error', () => undefined);
    stream.resume();
    const i = n++;
    if (i % 3 === 0) stream.respond({ ':status': 503 }, { endStream: true });
    else if (i % 3 === 1) stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'no healthy upstream' }, { endStream: true });
    else stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const report = await runLoad({ ...base(`127.0.0.1:${port}`), total: 9, concurrency: 1, connections: 1 });
  t.same(report.statusCodeDistribution, { Unavailable: 9 });
  t.equal(report.errorDistribution['rpc error: code = Unavailable desc = no healthy upstream'], 3);
  t.equal(report.errorDistribution['rpc error: code = Unavailable desc = missing grpc-status (HTTP 503)'], 3);
  t.equal(Object.values(report.errorDistribution).reduce((a, b) => a + b, 0), 9);
  t.equal(report.latencyDistribution, null, 'no OK calls: no percentiles');
});
