/**
 * An injectable clock: the current time and one-shot timers. Production code takes a
 * `Clock` (default {@link systemClock}) so that time-driven state machines (health-check
 * intervals, backoff) can be driven step by step in tests by `test/fakes/test-clock.ts`.
 */

/** An armed one-shot timer. */
export interface TimerHandle {
  /** Keeps the process from exiting while armed? Real timers are unref'd by the caller. */
  unref(): void;
}

export interface Clock {
  /** Milliseconds, monotonic (never goes back). */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Disarms a timer from this clock; a no-op when it already fired or was cleared. */
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** The real clock: `performance.now()` and Node timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => {
    if (handle) clearTimeout(handle as NodeJS.Timeout);
  },
};
