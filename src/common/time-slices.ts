/**
 * Cooperative time slicing for long control-plane work (decoding and applying an xDS push of
 * thousands of resources), so the event loop keeps serving requests meanwhile.
 *
 * A long loop asks {@link TimeSlicer.due} between items and, when its slice is spent, awaits
 * {@link TimeSlicer.yield}. Yielding goes through one shared FIFO that resumes **one** waiter per
 * event-loop iteration (each resume is its own `setImmediate`, queued after the previous one ran).
 * That matters because Node runs every immediate queued before the check phase back to back: if
 * two sliced tasks (say, decoding the next response while the previous one's clusters are being
 * built) each yielded with their own `setImmediate`, their slices would add up into one block.
 * Through the FIFO, timers and I/O get a turn between any two slices, and the tasks take turns.
 *
 * Heavy work that starts in an I/O callback should take a turn before it begins (`await
 * nextTurn()`), not run in the callback: otherwise it shares the loop iteration with whatever
 * slice the queue resumes in that iteration's check phase.
 */

/**
 * How long one slice may run, ms. Well under the 20 ms block target: a slice ends only at the next
 * item boundary, and a young-generation GC (often 5–13 ms while a push of thousands of resources
 * is being decoded, as much of what it allocates survives) can land on top of it. Measured with
 * bench/micro/xds-apply.ts: 5 ms slices kept slice + GC under 20 ms where 8 ms slices did not,
 * at no measurable cost in apply time.
 */
export const SLICE_MS = 5;

const waiters: Array<() => void> = [];
let resumeScheduled = false;
let turns = 0;

/** Resumes the first waiter in its own event-loop iteration; the next one gets the next iteration. */
function scheduleResume(): void {
  if (resumeScheduled || waiters.length === 0) return;
  resumeScheduled = true;
  setImmediate(() => {
    resumeScheduled = false;
    turns++;
    const resume = waiters.shift();
    // Queued from inside the check phase, so it runs in the *next* iteration, after timers and I/O.
    scheduleResume();
    resume?.();
  });
}

/** Resolves in a later event-loop iteration, after every task that yielded before this call had its turn. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiters.push(resolve);
    scheduleResume();
  });
}

/** Turns handed out so far (a counter for benchmarks and tests). */
export function sliceTurns(): number {
  return turns;
}

/** The slice clock of one task; see the module comment. */
export class TimeSlicer {
  private sliceStart = performance.now();

  constructor(private readonly budgetMs: number = SLICE_MS) {}

  /** True once the current slice has used its budget: the caller should `await yield()`. */
  get due(): boolean {
    return performance.now() - this.sliceStart >= this.budgetMs;
  }

  /** Lets the event loop run (timers, I/O, other tasks' slices), then starts a new slice. */
  async yield(): Promise<void> {
    await nextTurn();
    this.sliceStart = performance.now();
  }
}

/**
 * Runs a step generator to completion, yielding to the event loop between steps whenever the
 * slice is spent. The generator decides where it may be interrupted (each `yield`) and where it
 * must not be (code between two `yield`s runs in one go).
 */
export async function runInSlices(steps: Iterator<unknown>, slicer: TimeSlicer = new TimeSlicer()): Promise<void> {
  for (let r = steps.next(); r.done !== true; r = steps.next()) {
    if (slicer.due) await slicer.yield();
  }
}

/** Runs a step generator to completion without yielding (startup, tests). */
export function runToCompletion(steps: Iterator<unknown>): void {
  for (let r = steps.next(); r.done !== true; r = steps.next()) {
    // every step runs now
  }
}
