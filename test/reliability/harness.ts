/**
 * Shared pieces of the reliability tests: a real Legate process in front of real
 * backends, an honest gRPC client calling through it in the background, and the
 * proxy's resident memory read from /proc.
 */
import fs from 'node:fs';
import { createEchoClient, type EchoClient } from '../fakes/grpc-client';

/** VmRSS of a process in KiB (Linux /proc); NaN when unavailable. */
export function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** True while the process exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Honest gRPC traffic through the proxy: a unary call after another, each checked. */
export interface HonestLoad {
  readonly ok: number;
  readonly failed: number;
  /** Details of the first few failures. */
  readonly failures: readonly string[];
  /** Highest RSS seen (KiB) while the load ran, sampled between calls. */
  readonly peakRssKb: number;
  stop(): Promise<void>;
}

/**
 * Starts `concurrency` loops of unary Echo calls over one dedicated connection; every
 * call carries a payload and must come back with it intact.
 */
export function startHonestLoad(target: string, pid: number, concurrency = 2): HonestLoad {
  const client: EchoClient = createEchoClient(target);
  let running = true;
  let ok = 0;
  let failed = 0;
  let peak = rssKb(pid);
  const failures: string[] = [];
  const loops: Array<Promise<void>> = [];
  for (let i = 0; i < concurrency; i++) {
    loops.push((async () => {
      let n = 0;
      while (running) {
        const payload = Buffer.from(`honest-${i}-${n++}`);
        const r = await client.unarySettled({ payload }, { deadlineMs: 10_000 });
        if (r.ok && r.response?.payload.equals(payload)) ok++;
        else {
          failed++;
          if (failures.length < 5) failures.push(`${r.status.code} ${r.status.details}`);
        }
        const rss = rssKb(pid);
        if (rss > peak) peak = rss;
        await new Promise((res) => setTimeout(res, 5));
      }
    })());
  }
  return {
    get ok() { return ok; },
    get failed() { return failed; },
    failures,
    get peakRssKb() { return peak; },
    async stop() {
      running = false;
      await Promise.all(loops);
      client.close();
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
