/**
 * A manual {@link Clock}: time moves only when a test calls `advance()`, and timers fire
 * in deadline order (ties in arming order) as time passes them.
 */
import type { Clock, TimerHandle } from '../../src/common/clock';

interface FakeTimer extends TimerHandle {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
  /** The delay it was armed with. */
  readonly ms: number;
}

export class TestClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: FakeTimer[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = { id: ++this.seq, at: this.t + Math.max(0, ms), fn, ms, unref: () => undefined };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    this.timers = this.timers.filter((x) => x !== handle);
  }

  /** Delays of the armed timers, in arming order. */
  pending(): number[] {
    return this.timers.map((x) => x.ms);
  }

  /** Milliseconds until the next timer fires, or undefined when none is armed. */
  nextIn(): number | undefined {
    if (this.timers.length === 0) return undefined;
    return Math.min(...this.timers.map((x) => x.at)) - this.t;
  }

  /** Moves time forward by `ms`, firing every timer that comes due (including ones armed by fired timers). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}
