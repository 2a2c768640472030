/**
 * The time of the socket read being handled: `performance.now()` (and `Date.now()`) read once per
 * read instead of at every use.
 *
 * A read from a busy HTTP/2 connection carries frames of many requests; the router stamps each
 * one several times (start, upstream start, first byte, activity, end), and each stamp was a
 * clock call of its own, about 4% of the CPU per proxied call. Everything a read sets in motion
 * happened "when those bytes arrived", as Envoy's dispatcher time is per event. Outside a read
 * (timers, node:http, node:http2), the clocks are read directly.
 */
let monotonic = -1;
let epoch = -1;

/** Milliseconds on the performance.now() clock. */
export function eventNow(): number {
  return monotonic >= 0 ? monotonic : performance.now();
}

/** Milliseconds since the epoch, as Date.now(). */
export function eventEpochNow(): number {
  if (monotonic < 0) return Date.now();
  if (epoch < 0) epoch = Date.now();
  return epoch;
}

/** A read is being handled: its time is now. */
export function beginEvent(): void {
  monotonic = performance.now();
  epoch = -1;
}

/** The read is handled. */
export function endEvent(): void {
  monotonic = -1;
  epoch = -1;
}
