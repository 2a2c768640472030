/**
 * A test file's process must exit once its tests are done. When something the test created
 * (a peer's timer, a socket, a child's pipe) still holds the event loop, tap would wait for its
 * timeout and report the whole file as failed although every assertion passed. This guard waits
 * `graceMs` after the root test's teardown, then names what is still alive on stderr and exits
 * with the exit code tap has set. Its own timer is unref'd: a process that exits by itself is
 * not delayed.
 */
import type { Test } from 'tap';

export function exitWhenDone(root: Test, graceMs = 5000): void {
  root.teardown(() => {
    const timer = setTimeout(() => {
      const alive = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
      process.stderr.write(`exit guard: still alive ${graceMs} ms after the tests: ${alive.join(', ')}; exiting\n`);
      process.exit(process.exitCode ?? 0);
    }, graceMs);
    timer.unref();
  });
}
