/**
 * A steady-load soak of a real Legate process (issue #9): unary gRPC calls through the
 * proxy over two endpoints, with access logging to a file and downstream connections
 * opened and closed all along, while the proxy's RSS, open file descriptors and
 * connections are sampled from /proc and its admin API.
 *
 * Used by test/reliability/soak.test.ts (short, in CI) and by `npm run soak` (10 minutes).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGrpcBackend, type GrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient, type EchoClient } from '../fakes/grpc-client';
import { freePort, startLegate, type LegateProcess } from '../fakes/legate-process';
import { MEMORY_PROBE_PRELOAD, readMemoryProbe } from '../fakes/memory-probe';
import { bootstrapJson } from '../integration/bootstrap-builder';

export interface SoakOptions {
  readonly durationMs: number;
  /** Concurrent callers, each on its own downstream connection. Default 8. */
  readonly workers?: number;
  /** A caller replaces its connection after this many calls. Default 500. */
  readonly callsPerConnection?: number;
  /**
   * V8 old-space cap of the proxy, in MiB (default 128). V8 sizes its heap from the memory it
   * sees, 24 GiB on a CI machine, and grows it lazily towards that; in a pod the memory limit
   * bounds it. With the cap the run measures what the proxy keeps, not how lazily V8 collects:
   * a real leak ends in a heap OOM or in RSS growth after warm-up.
   */
  readonly heapMb?: number;
  /** Progress lines (one per sample) go here when given. */
  readonly progress?: (line: string) => void;
}

export interface SoakSample {
  readonly atMs: number;
  readonly rssKb: number;
  readonly fds: number;
  readonly downstreamCx: number;
  readonly upstreamCx: number;
  readonly calls: number;
}

export interface SoakResult {
  readonly calls: number;
  readonly failures: readonly string[];
  readonly connectionsOpened: number;
  readonly samples: readonly SoakSample[];
  /** Median RSS over the second quarter of the run (after warm-up), in KiB. */
  readonly rssWarmKb: number;
  /** Median RSS over the third quarter, in KiB. */
  readonly rssThirdKb: number;
  /** Median RSS over the last quarter, in KiB. */
  readonly rssEndKb: number;
  /** Live heap after two full GCs: halfway through the run (under load), and once the load has stopped. */
  readonly heapMidMiB: number;
  readonly heapEndMiB: number;
  /** Open fds once the load stopped and the clients closed, and before the load started. */
  readonly fdsBefore: number;
  readonly fdsAfter: number;
  /** Downstream and upstream connections open once the load stopped and the clients closed. */
  readonly downstreamCxAfter: number;
  readonly upstreamCxAfter: number;
  readonly accessLogLines: number;
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

async function gauge(proxy: LegateProcess, name: string): Promise<number> {
  const body = (await proxy.admin(`/stats?filter=^${name.replace(/\./g, '\\.')}$`)).body;
  const m = new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(body);
  if (!m) throw new Error(`stat ${name} not found in /stats output: ${body.slice(0, 200)}`);
  return Number(m[1]);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const workers = opts.workers ?? 8;
  const perConnection = opts.callsPerConnection ?? 500;
  const backends: GrpcBackend[] = [await startGrpcBackend({ name: 'a', services: ['echo'] }), await startGrpcBackend({ name: 'b', services: ['echo'] })];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-soak-'));
  const accessLog = path.join(dir, 'access.log');
  const listenerPort = await freePort();
  // Access logs on, to a file (Envoy's default format), as a sidecar runs.
  const config = bootstrapJson({
    adminPort: await freePort(),
    listenerPort,
    clusters: [{ name: 'svc', endpoints: backends.map((b) => b.address) }],
    hcmExtra: {
      access_log: [{
        name: 'envoy.access_loggers.file',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: accessLog },
      }],
    },
  });
  // With the probe preload: a full GC and a heap reading on demand (what a leak grows, without
  // the steps V8's heap sizing puts into RSS).
  const probeFile = path.join(dir, 'probe.jsonl');
  const proxy = await startLegate({
    configYaml: JSON.stringify(config),
    nodeArgs: ['--expose-gc', '-r', MEMORY_PROBE_PRELOAD],
    env: { NODE_OPTIONS: `--max-old-space-size=${opts.heapMb ?? 128}`, LEGATE_MEMORY_PROBE_OUT: probeFile },
  });
  try {
    const target = `127.0.0.1:${listenerPort}`;
    const fdsBefore = fdCount(proxy.pid);
    let running = true;
    let calls = 0;
    let connectionsOpened = 0;
    const failures: string[] = [];
    const load = Array.from({ length: workers }, async () => {
      while (running) {
        const client: EchoClient = createEchoClient(target);
        connectionsOpened++;
        try {
          for (let i = 0; i < perConnection && running; i++) {
            const r = await client.unarySettled({ payload: Buffer.alloc(64, 1) });
            calls++;
            if (!r.ok && failures.length < 20) failures.push(`${r.status.code} ${r.status.details}`);
          }
        } finally {
          client.close();
        }
      }
    });

    const samples: SoakSample[] = [];
    const start = performance.now();
    let heapMidMiB = -1;
    while (performance.now() - start < opts.durationMs) {
      await new Promise((r) => setTimeout(r, 1000));
      if (heapMidMiB < 0 && performance.now() - start >= opts.durationMs / 2) heapMidMiB = (await readMemoryProbe(proxy.pid, probeFile)).heapUsedMiB;
      const s: SoakSample = {
        atMs: Math.round(performance.now() - start),
        rssKb: rssKb(proxy.pid),
        fds: fdCount(proxy.pid),
        downstreamCx: await gauge(proxy, 'http.test.downstream_cx_active'),
        upstreamCx: await gauge(proxy, 'cluster.svc.upstream_cx_active'),
        calls,
      };
      samples.push(s);
      opts.progress?.(`${(s.atMs / 1000).toFixed(0)}s calls=${s.calls} rss=${(s.rssKb / 1024).toFixed(1)}MiB fds=${s.fds} downstream_cx=${s.downstreamCx} upstream_cx=${s.upstreamCx}`);
    }
    running = false;
    await Promise.all(load);
    // Let the proxy see the clients' connections close and flush its access log.
    await new Promise((r) => setTimeout(r, 2000));
    const heapEndMiB = (await readMemoryProbe(proxy.pid, probeFile)).heapUsedMiB;
    const q = Math.max(1, Math.floor(samples.length / 4));
    const result: SoakResult = {
      calls,
      failures,
      connectionsOpened,
      samples,
      rssWarmKb: median(samples.slice(q, 2 * q).map((s) => s.rssKb)),
      rssThirdKb: median(samples.slice(2 * q, 3 * q).map((s) => s.rssKb)),
      rssEndKb: median(samples.slice(samples.length - q).map((s) => s.rssKb)),
      heapMidMiB,
      heapEndMiB,
      fdsBefore,
      fdsAfter: fdCount(proxy.pid),
      downstreamCxAfter: await gauge(proxy, 'http.test.downstream_cx_active'),
      upstreamCxAfter: await gauge(proxy, 'cluster.svc.upstream_cx_active'),
      accessLogLines: fs.readFileSync(accessLog, 'utf8').split('\n').filter(Boolean).length,
    };
    return result;
  } finally {
    await proxy.stop();
    for (const b of backends) await b.stop(100);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
