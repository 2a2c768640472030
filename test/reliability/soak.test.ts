/**
 * Soak, short form for CI (issue #9; the 10-minute form is `npm run soak`): under steady
 * load with connections opened and closed all along, the proxy loses no call, its live heap
 * does not grow, its RSS stops growing once warm, and it leaks no file descriptor or connection.
 * LEGATE_SOAK_SECONDS lengthens the run.
 */
import t from 'tap';
import { runSoak } from './soak-run';

const SECONDS = Number(process.env['LEGATE_SOAK_SECONDS'] ?? 24);

t.test(`soak: ${SECONDS} s of steady load`, async (t) => {
  const r = await runSoak({ durationMs: SECONDS * 1000, callsPerConnection: 100, progress: (l) => t.comment(l) });
  t.ok(r.calls > 1000, `calls flowed (${r.calls} over ${r.connectionsOpened} connections)`);
  t.same(r.failures, [], 'no call failed');
  t.ok(r.connectionsOpened > 8, 'downstream connections were replaced during the run');
  // No leak: the live heap after full GCs is no bigger once the load has stopped than halfway
  // through it under load (a leak grows it with every call and connection: 1 MiB over the
  // second half of the short form is ~100 bytes per call).
  t.ok(r.heapEndMiB <= r.heapMidMiB + 1, `live heap after GC does not grow (${r.heapMidMiB.toFixed(1)} MiB halfway, ${r.heapEndMiB.toFixed(1)} MiB at the end)`);
  // RSS stops growing once warm. V8 sizes its heap in steps of ~16 MiB, and on a loaded machine a
  // step can land late in a short run, so the short form allows 20% over its last quarter; runs
  // of 2 minutes or more compare the end against the second quarter, within 10%.
  const mib = (kb: number): string => (kb / 1024).toFixed(1);
  const lateGrowth = (r.rssEndKb - r.rssThirdKb) / r.rssThirdKb;
  t.ok(lateGrowth < (SECONDS >= 120 ? 0.1 : 0.2), `RSS growth over the last quarter (${mib(r.rssThirdKb)} → ${mib(r.rssEndKb)} MiB, ${(lateGrowth * 100).toFixed(1)}%; ${mib(r.rssWarmKb)} MiB in the second quarter)`);
  if (SECONDS >= 120) {
    const growth = (r.rssEndKb - r.rssWarmKb) / r.rssWarmKb;
    t.ok(growth < 0.1, `RSS growth after warm-up < 10% (${mib(r.rssWarmKb)} → ${mib(r.rssEndKb)} MiB, ${(growth * 100).toFixed(1)}%)`);
  }
  t.ok(r.fdsAfter <= r.fdsBefore + 2, `no file descriptor leak (${r.fdsBefore} before the load, ${r.fdsAfter} after)`);
  t.equal(r.downstreamCxAfter, 0, 'every downstream connection was closed');
  t.ok(r.upstreamCxAfter <= 2, `upstream connections stay pooled, not piled up (${r.upstreamCxAfter} open)`);
  t.equal(r.accessLogLines, r.calls, 'every call was logged');
});
