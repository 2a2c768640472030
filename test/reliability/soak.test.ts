/**
 * Soak, short form for CI (issue #9; the 10-minute form is `npm run soak`): under steady
 * load with connections opened and closed all along, the proxy loses no call, its RSS
 * stops growing once warm, and it leaks no file descriptor or connection.
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
  // V8 grows the young generation in steps of up to 16 MiB (its semi-spaces), and on a loaded
  // machine one such step can land after the warm-up window: a leak is growth past both bounds.
  const growth = (r.rssEndKb - r.rssWarmKb) / r.rssWarmKb;
  const grownMiB = (r.rssEndKb - r.rssWarmKb) / 1024;
  t.ok(growth < 0.1 || grownMiB < 16, `RSS growth after warm-up < 10% or < 16 MiB (${(r.rssWarmKb / 1024).toFixed(1)} → ${(r.rssEndKb / 1024).toFixed(1)} MiB, ${(growth * 100).toFixed(1)}%)`);
  t.ok(r.fdsAfter <= r.fdsBefore + 2, `no file descriptor leak (${r.fdsBefore} before the load, ${r.fdsAfter} after)`);
  t.equal(r.downstreamCxAfter, 0, 'every downstream connection was closed');
  t.ok(r.upstreamCxAfter <= 2, `upstream connections stay pooled, not piled up (${r.upstreamCxAfter} open)`);
  t.equal(r.accessLogLines, r.calls, 'every call was logged');
});
