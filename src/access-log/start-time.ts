import type { StreamInfo } from '../http/stream-info';

/** The `YYYY-MM-DDTHH:MM:SS` of the last second formatted (Envoy caches it the same way). */
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/**
 * Envoy's default %START_TIME%: `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC. The part up to the seconds
 * is formatted once per second: `Date#toISOString` was about half the cost of an Istio log line
 * (bench/micro/observability-cost.ts).
 */
export function formatStartTime(epochMs: number): string {
  const ms = Math.floor(epochMs);
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond || ms < 0) {
    const iso = new Date(ms).toISOString();
    if (ms < 0 || iso.length !== 24) return iso;
    cachedSecond = second;
    cachedPrefix = iso.slice(0, 19);
  }
  const frac = ms - second * 1000;
  return `${cachedPrefix}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/**
 * %START_TIME(fmt)%: strftime-like specifiers as Envoy supports them, in UTC:
 * %Y %m %d %H %M %S %y %j %z %Z %s (epoch seconds) %e, %1f..%9f (fractional seconds), %%.
 */
export function compileStartTime(fmt: string): (s: StreamInfo) => string {
  return (s) => {
    const d = new Date(s.startEpochMs);
    return fmt.replace(/%([1-9]?f|[YmdHMSyjzZse%T])/g, (_m, spec: string) => {
      if (spec.endsWith('f')) {
        const digits = spec.length === 2 ? Number(spec[0]) : 9;
        const nanos = String(d.getUTCMilliseconds() * 1_000_000).padStart(9, '0');
        return nanos.slice(0, digits);
      }
      switch (spec) {
        case 'Y': return String(d.getUTCFullYear());
        case 'm': return pad(d.getUTCMonth() + 1);
        case 'd': return pad(d.getUTCDate());
        case 'e': return String(d.getUTCDate()).padStart(2, ' ');
        case 'H': return pad(d.getUTCHours());
        case 'M': return pad(d.getUTCMinutes());
        case 'S': return pad(d.getUTCSeconds());
        case 'T': return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
        case 'y': return pad(d.getUTCFullYear() % 100);
        case 'j': return pad(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, 3);
        case 'z': return '+0000';
        case 'Z': return 'UTC';
        case 's': return String(Math.floor(d.getTime() / 1000));
        case '%': return '%';
        default: return spec;
      }
    });
  };
}
