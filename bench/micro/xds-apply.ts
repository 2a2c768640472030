/**
 * Micro-benchmark: applying a big xDS update — 1,000 EDS clusters and 1,000
 * ClusterLoadAssignments of 10 endpoints each (10,000 endpoints) — through the real ADS
 * client, xDS manager, cluster manager and listener manager, over SotW (`GRPC`) and delta
 * (`DELTA_GRPC`). The question it answers: how long an update takes to apply, and how long the
 * event loop is blocked while it does (target: no single block over 20 ms, so requests in
 * flight on the same loop are not stalled for longer than that).
 *
 * The fake control plane (`test/fakes/control-plane`) runs in a forked child process, driven
 * over IPC with small commands (the child builds and encodes the resources itself), so none of
 * its CPU lands on the measured process. The measured process (this one) runs `AdsClient` +
 * `XdsManager` + `ClusterManager` + `ListenerManager` from an ADS bootstrap (LDS and CDS over
 * ADS, as Istio's) pointing at the child's port. Per API type, on a fresh client each round:
 *
 * 1. `initial`: CDS with 1,000 EDS clusters, then the 1,000 assignments the clusters ask for;
 *    time from the first response reaching the client (`AdsClient.onMessage`) to the end of the
 *    `ClusterManager.reconcileInSlices` after which all 1,000 clusters are active with their 10
 *    hosts.
 * 2. `update all`: every assignment changes (the first endpoint's port), same clock.
 * 3. `update one`: one assignment of the 1,000 changes.
 *
 * For each: wall time; the event-loop blocks in a window from the command to 200 ms after the
 * update is in (`perf_hooks.monitorEventLoopDelay({resolution: 1})`: max and p99, and the
 * largest gap seen by a 1 ms `setInterval` probe); how long the longest response took from
 * arrival to its ACK and the sliced reconcile from start to swap (spans over many event-loop
 * turns, via prototype wrappers that only read the clock); how many turns the sliced work
 * yielded; which xDS work was in flight during the longest block and what that block was made
 * of (time in the main synchronous pieces, GC pauses from `PerformanceObserver`); on Linux, the
 * main thread's run-queue wait inside the longest block (`/proc/<pid>/task/<pid>/schedstat`), so
 * that a busy machine's preemption is not mistaken for our own work; RSS after the initial load.
 * A GC runs before each step (`--expose-gc` is set at run time). `XDS_APPLY_DEBUG=1` prints the
 * longest pieces inside each step's longest block.
 *
 * A last, separate round repeats every step under the V8 sampling profiler (inspector,
 * 100 µs) and attributes the samples inside each step's longest block (the probe's largest gap)
 * to the stage they were in — DiscoveryResponse decode, per-resource decode, hashing, model
 * decode, reconcile, picker rebuild, GC, ... — so the next engineer knows what is left. The
 * profiles are written to the OS temp directory for Chrome DevTools.
 *
 * A markdown section is printed and appended to bench/RESULTS.md (unless `--no-append`).
 *
 *   npx tsc -p . && node dist/bench/micro/xds-apply.js [--rounds 3] [--clusters 1000]
 *     [--endpoints 10] [--no-profile] [--no-append]
 *
 * The defaults take well under 2 minutes on a busy 2-core machine.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { Profiler, Runtime } from 'node:inspector';
import * as os from 'node:os';
import * as path from 'node:path';
import { PerformanceObserver, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { execSync } from 'node:child_process';
import { loadBootstrap } from '../../src/bootstrap/bootstrap';
import { setLevel } from '../../src/common/logger';
import { ListenerManager } from '../../src/listener/listener-manager';
import { SLICE_MS, sliceTurns } from '../../src/common/time-slices';
import { ClusterManager } from '../../src/upstream/cluster-manager';
import { AdsClient } from '../../src/xds/ads/ads-client';
import { TYPE } from '../../src/xds/type-urls';
import { XdsManager } from '../../src/xds/xds-manager';
import { adsBootstrap, assignment, edsCluster } from '../../test/integration/xds-resources';

const CP_FLAG = '--xds-apply-control-plane';
const TARGET_MS = 20;
/** How long after an update is in the loop is still watched (ACK, trailing GC). */
const SETTLE_MS = 200;
const PHASE_TIMEOUT_MS = 60_000;
/** The assignment `update one` changes: one in the middle. */
const ONE_INDEX = 500;
const SAMPLING_INTERVAL_US = 100;

type ApiType = 'GRPC' | 'DELTA_GRPC';
type PhaseName = 'initial' | 'updateAll' | 'updateOne';
const PHASES: readonly PhaseName[] = ['initial', 'updateAll', 'updateOne'];
const API_LABEL: Record<ApiType, string> = { GRPC: 'SotW', DELTA_GRPC: 'delta' };
const SHORT_TYPE: Record<string, string> = { [TYPE.cluster]: 'CDS', [TYPE.endpoints]: 'EDS', [TYPE.listener]: 'LDS', [TYPE.routeConfig]: 'RDS' };

// ===================================================================== resources (both processes)

function clusterName(i: number): string {
  return `outbound|8080||svc-${String(i).padStart(4, '0')}.bench.svc.cluster.local`;
}

/** Endpoint j of cluster i; endpoint 0's port moves with the cluster's generation. */
function endpointAddress(i: number, j: number, gen: number): string {
  return `10.${1 + (i >> 8)}.${i & 255}.${j + 1}:${j === 0 ? 8080 + gen : 8080}`;
}

function addressesOf(i: number, endpoints: number, gen: number): string[] {
  return Array.from({ length: endpoints }, (_, j) => endpointAddress(i, j, gen));
}

// ===================================================================== control plane (child process)

type ChildCommand =
  | { readonly op: 'reset' }
  | { readonly op: 'initial'; readonly clusters: number; readonly endpoints: number }
  | { readonly op: 'updateAll' }
  | { readonly op: 'updateOne'; readonly index: number };

interface ChildReply {
  readonly id: number;
  readonly error?: string;
  /** Child time spent building and encoding the resources, ms. */
  readonly encodeMs?: number;
}

async function runControlPlane(): Promise<void> {
  // Loaded here only: the measured process never loads the fake's server code.
  const { startControlPlane } = require('../../test/fakes/control-plane') as typeof import('../../test/fakes/control-plane');
  const cp = await startControlPlane();
  let clusters = 0;
  let endpoints = 0;
  let gens: number[] = [];
  const cla = (i: number): { name: string; value: Record<string, unknown> } => ({ name: clusterName(i), value: assignment(clusterName(i), addressesOf(i, endpoints, gens[i]!)) });
  const handle = (cmd: ChildCommand): void => {
    switch (cmd.op) {
      case 'reset':
        clusters = 0;
        gens = [];
        cp.setResources(TYPE.cluster, []);
        cp.setResources(TYPE.endpoints, []);
        cp.setResources(TYPE.listener, []);
        return;
      case 'initial':
        clusters = cmd.clusters;
        endpoints = cmd.endpoints;
        gens = new Array<number>(clusters).fill(0);
        // Assignments first (nobody asks for them yet), then the clusters, which ask for them.
        cp.setResources(TYPE.endpoints, Array.from({ length: clusters }, (_, i) => cla(i)));
        cp.setResources(TYPE.cluster, Array.from({ length: clusters }, (_, i) => ({ name: clusterName(i), value: edsCluster(clusterName(i)) })));
        return;
      case 'updateAll':
        for (let i = 0; i < clusters; i++) gens[i]!++;
        cp.setResources(TYPE.endpoints, Array.from({ length: clusters }, (_, i) => cla(i)));
        return;
      case 'updateOne': {
        gens[cmd.index]!++;
        const { name, value } = cla(cmd.index);
        cp.setResource(TYPE.endpoints, name, value);
        return;
      }
    }
  };
  process.on('message', (message: { id: number; cmd: ChildCommand }) => {
    const t0 = performance.now();
    let reply: ChildReply;
    try {
      handle(message.cmd);
      reply = { id: message.id, encodeMs: performance.now() - t0 };
    } catch (err) {
      reply = { id: message.id, error: (err as Error).stack ?? String(err) };
    }
    process.send!(reply);
  });
  process.on('disconnect', () => {
    void cp.stop({ abrupt: true }).finally(() => process.exit(0));
  });
  process.send!({ port: cp.port });
}

class ControlPlaneChild {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (r: ChildReply) => void; reject: (e: Error) => void }>();

  private constructor(private readonly child: ChildProcess, readonly port: number) {
    child.on('message', (m: ChildReply) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(`control plane child: ${m.error}`));
      else p.resolve(m);
    });
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`control plane child exited with ${String(code)}`));
      this.pending.clear();
    });
  }

  static async start(): Promise<ControlPlaneChild> {
    const child = fork(__filename, [CP_FLAG], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`control plane child exited with ${String(code)}`)));
      child.once('message', (m) => resolve((m as { port: number }).port));
    });
    child.removeAllListeners('exit');
    child.removeAllListeners('error');
    return new ControlPlaneChild(child, port);
  }

  call(cmd: ChildCommand): Promise<ChildReply> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, cmd });
    });
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect();
  }
}

// ===================================================================== instrumentation (measured process)

interface HandlerRecord {
  readonly start: number;
  readonly end: number;
}
interface UpdateRecord extends HandlerRecord {
  readonly typeUrl: string;
  readonly changed: number;
}

/** Clock readings around the code's own steps; the wrappers only read `performance.now()`. */
const trace = {
  /** `AdsClient.onMessage`: a response arrived (synchronous: queues it). */
  messages: [] as HandlerRecord[],
  /** `AdsClient.handleMessage`: a response decoded, validated, committed and answered (async span). */
  responses: [] as HandlerRecord[],
  /** `XdsManager.onUpdate`: called → validated and committed (async span). */
  updates: [] as UpdateRecord[],
  /** `ClusterManager.reconcileInSlices`: called → new map swapped in, dropped clusters stopped (async span). */
  reconciles: [] as HandlerRecord[],
  /** `ListenerManager.apply` (async span). */
  listenerApplies: [] as HandlerRecord[],
  /** Called after every reconcile, with the time it finished. */
  afterReconcile: undefined as ((end: number) => void) | undefined,
  clear(): void {
    this.messages = [];
    this.responses = [];
    this.updates = [];
    this.reconciles = [];
    this.listenerApplies = [];
  },
};

/** Wraps an async method so that `record(start, end, ...args)` runs when its promise settles. */
function timeAsync<A extends unknown[]>(proto: object, name: string, record: (start: number, end: number, ...args: A) => void): void {
  const target = proto as Record<string, (...args: A) => Promise<unknown>>;
  const original = target[name]!;
  target[name] = function (this: unknown, ...args: A): Promise<unknown> {
    const start = performance.now();
    return original.apply(this, args).finally(() => record(start, performance.now(), ...args));
  };
}

function installHooks(): void {
  const client = AdsClient.prototype as unknown as { onMessage(this: unknown, bytes: Buffer): void };
  const onMessage = client.onMessage;
  client.onMessage = function (bytes: Buffer): void {
    const start = performance.now();
    try {
      onMessage.call(this, bytes);
    } finally {
      trace.messages.push({ start, end: performance.now() });
    }
  };
  timeAsync(AdsClient.prototype, 'handleMessage', (start, end) => trace.responses.push({ start, end }));
  timeAsync(XdsManager.prototype, 'onUpdate', (start, end, typeUrl: string, update: { changed: ReadonlyMap<string, unknown> }) =>
    trace.updates.push({ start, end, typeUrl, changed: update.changed.size }),
  );
  timeAsync(ClusterManager.prototype, 'reconcileInSlices', (start, end) => {
    trace.reconciles.push({ start, end });
    trace.afterReconcile?.(end);
  });
  timeAsync(ListenerManager.prototype, 'apply', (start, end) => trace.listenerApplies.push({ start, end }));
}

/** `PerformanceEntry.detail.kind` of `gc` entries (`perf_hooks.constants.NODE_PERFORMANCE_GC_*`). */
const GC_KINDS: Record<number, string> = { 1: 'scavenge', 2: 'mark-compact', 4: 'incremental marking', 8: 'weak callbacks' };

/** Synchronous pieces of work, by kind, for saying what the longest block was made of. */
const segments = {
  list: [] as Array<{ readonly start: number; readonly end: number; readonly label: string }>,
  clear(): void {
    this.list = [];
  },
};

/** How many timed calls are on the stack: only the outermost one is recorded (no double counting). */
let timedDepth = 0;

/** Wraps a synchronous function (a module export or a method) to record its time under `label`. */
function timeSync(holder: object, name: string, label: string): void {
  const target = holder as Record<string, (...args: unknown[]) => unknown>;
  const original = target[name]!;
  target[name] = function (this: unknown, ...args: unknown[]): unknown {
    const start = performance.now();
    timedDepth++;
    try {
      return original.apply(this, args);
    } finally {
      if (--timedDepth === 0) segments.list.push({ start, end: performance.now(), label });
    }
  };
}

/**
 * The known kinds of synchronous work and GC pauses. Module exports are patched on the module
 * object itself (the compiled callers read `module.fn` at each call), protobufjs types on the
 * type (after `setup()`, which installs the generated `decode` there); a call inside another
 * timed call counts for the outer one.
 */
function installSegmentHooks(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const messages = require('../../src/xds/ads/discovery-messages') as typeof import('../../src/xds/ads/discovery-messages');
  const binary = require('../../src/proto/proto-binary') as object;
  const wire = messages.discoveryTypes();
  for (const type of [wire.response, wire.deltaResponse, wire.any, wire.resource]) {
    type.setup();
    timeSync(type, 'decode', 'DiscoveryResponse decode');
  }
  timeSync(messages, 'encodeRequest', 'request encode');
  timeSync(binary, 'decodeAnyBinary', 'resource decode');
  timeSync(XdsManager.prototype, 'decode', 'model decode');
  timeSync(XdsManager.prototype, 'commit', 'commit');
  timeSync(ClusterManager.prototype, 'keepOrBuild', 'Cluster build');
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      segments.list.push({ start: e.startTime, end: e.startTime + e.duration, label: `GC (${GC_KINDS[kind ?? 0] ?? 'other'})` });
    }
  }).observe({ entryTypes: ['gc'] });
}

/** What [from, to] was made of: ms per kind of work, largest first, the rest as "other". A GC pause inside a timed call counts as GC. */
function composition(from: number, to: number): string {
  const overlap = (a: { start: number; end: number }, lo: number, hi: number): number => Math.max(0, Math.min(a.end, hi) - Math.max(a.start, lo));
  const inGap = segments.list.filter((seg) => overlap(seg, from, to) > 0);
  const gcs = inGap.filter((seg) => seg.label.startsWith('GC'));
  const ms = new Map<string, number>();
  for (const seg of inGap) {
    let own = overlap(seg, from, to);
    if (!seg.label.startsWith('GC')) for (const gc of gcs) own -= overlap(gc, Math.max(seg.start, from), Math.min(seg.end, to));
    if (own > 0) ms.set(seg.label, (ms.get(seg.label) ?? 0) + own);
  }
  const known = [...ms.values()].reduce((a, b) => a + b, 0);
  const parts = [...ms.entries()].sort((a, b) => b[1] - a[1]).filter(([, v]) => v >= 0.5);
  const other = to - from - known;
  return [...parts.map(([k, v]) => `${k} ${f1(v)}`), ...(other >= 0.5 ? [`other ${f1(other)}`] : [])].join(', ');
}

/** The xDS work in flight during [from, to] (spans overlapping it), e.g. `EDS ×1000 onUpdate + reconcile`. */
function inFlight(from: number, to: number): string {
  const overlaps = (r: HandlerRecord): boolean => r.start < to && r.end > from;
  const parts: string[] = [];
  for (const u of trace.updates.filter(overlaps)) parts.push(`${SHORT_TYPE[u.typeUrl] ?? u.typeUrl} ×${u.changed} onUpdate`);
  if (parts.length === 0 && trace.responses.some(overlaps)) parts.push('response decode');
  if (trace.reconciles.some(overlaps)) parts.push('reconcile');
  if (trace.listenerApplies.some(overlaps)) parts.push('listener apply');
  return parts.length === 0 ? 'no xDS work' : [...new Set(parts)].join(' + ');
}

/** Main-thread scheduler counters (Linux `/proc/<pid>/task/<pid>/schedstat`): ns on a CPU, ns waiting for one. */
const SCHEDSTAT = `/proc/${process.pid}/task/${process.pid}/schedstat`;
function schedstat(): { runNs: number; waitNs: number } | undefined {
  try {
    const [run, wait] = fs.readFileSync(SCHEDSTAT, 'utf8').split(' ');
    return { runNs: Number(run), waitNs: Number(wait) };
  } catch {
    return undefined;
  }
}

/**
 * The largest gap between ticks of a 1 ms interval timer, and where it was. On Linux each tick
 * also reads the main thread's scheduler counters, to tell a block of our own work from the
 * process waiting for a CPU on a busy machine: `waitInMaxGapMs` is the run-queue wait inside the
 * largest gap, and `maxOnCpuGapMs` the largest gap between two ticks once the run-queue wait
 * inside it is taken out (the wait is exact; the counter of time on a CPU is only updated at
 * scheduler ticks, so the gap minus the wait is the better measure of our own block, GC pauses
 * included).
 */
class GapProbe {
  maxGapMs = 0;
  window: [number, number] = [0, 0];
  waitInMaxGapMs: number | undefined;
  maxOnCpuGapMs: number | undefined;
  private last = 0;
  private lastSched: { runNs: number; waitNs: number } | undefined;
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.maxGapMs = 0;
    this.waitInMaxGapMs = undefined;
    this.maxOnCpuGapMs = undefined;
    this.last = performance.now();
    this.lastSched = schedstat();
    this.timer = setInterval(() => {
      const now = performance.now();
      const sched = schedstat();
      const prev = this.lastSched;
      if (now - this.last > this.maxGapMs) {
        this.maxGapMs = now - this.last;
        this.window = [this.last, now];
        if (sched && prev) this.waitInMaxGapMs = (sched.waitNs - prev.waitNs) / 1e6;
      }
      if (sched && prev) this.maxOnCpuGapMs = Math.max(this.maxOnCpuGapMs ?? 0, now - this.last - (sched.waitNs - prev.waitNs) / 1e6);
      this.last = now;
      this.lastSched = sched;
    }, 1);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

// ===================================================================== the runtime under test

interface Runtime {
  readonly api: ApiType;
  readonly clusters: ClusterManager;
  readonly xds: XdsManager;
  readonly client: AdsClient;
  readonly listeners: ListenerManager;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

async function startRuntime(api: ApiType, cpPort: number): Promise<Runtime> {
  // adsBootstrap: LDS + CDS over ADS (initial_fetch_timeout 0s), a STATIC xds-grpc cluster.
  const bootstrap = JSON.parse(adsBootstrap(0, cpPort, api)) as Record<string, unknown>;
  delete bootstrap['admin'];
  const loaded = loadBootstrap({ configYaml: JSON.stringify(bootstrap) });
  if (loaded.model === undefined) throw new Error(`bootstrap: ${loaded.errors.join('; ')}`);
  const model = loaded.model;
  const clusters = new ClusterManager();
  clusters.reconcile(model.clusters);
  const listeners = new ListenerManager(clusters, 1000, 1000);
  const xds = new XdsManager(model, clusters, listeners);
  const client = new AdsClient(
    { target: { kind: 'tcp', host: '127.0.0.1', port: cpPort }, apiType: api, node: { id: 'bench', cluster: 'bench' }, setNodeOnFirstMessageOnly: true },
    { onUpdate: (typeUrl, update) => xds.onUpdate(typeUrl, update) },
  );
  client.start();
  xds.start(client);
  await withTimeout(xds.ready, 10_000, `${api} initial (empty) xDS config`);
  return { api, clusters, xds, client, listeners };
}

function stopRuntime(rt: Runtime): void {
  rt.client.close();
  rt.xds.close();
  rt.listeners.closeAll();
  rt.clusters.destroy();
}

/** True when every cluster is active with its endpoints at the expected generation. */
function allActive(rt: Runtime, gens: readonly number[], endpoints: number): boolean {
  for (let i = 0; i < gens.length; i++) {
    const c = rt.clusters.get(clusterName(i));
    if (c === undefined) return false;
    const hosts = c.allHosts();
    if (hosts.length !== endpoints) return false;
    const want = endpointAddress(i, 0, gens[i]!);
    if (!hosts.some((h) => h.key === want)) return false;
  }
  return true;
}

// ===================================================================== one step

interface PhaseResult {
  readonly api: ApiType;
  readonly phase: PhaseName;
  readonly round: number;
  /** First response at the client → the reconcile after which everything is active. */
  readonly applyMs: number;
  /** IPC command sent → everything active (includes the child's encoding and the transfer). */
  readonly commandMs: number;
  readonly childEncodeMs: number;
  readonly responses: number;
  readonly histMaxMs: number;
  readonly histP99Ms: number;
  readonly probeMaxGapMs: number;
  /** Longest response from arrival (`onMessage`) to its ACK/NACK having been sent. */
  readonly maxResponseMs: number;
  /** Longest `reconcileInSlices` span (start → swapped and stopped). */
  readonly maxReconcileMs: number;
  /** Run-queue wait of the main thread inside the probe's largest gap (Linux), ms. */
  readonly waitInMaxGapMs: number | undefined;
  /** Largest gap between two probe ticks net of the main thread's run-queue wait in it (Linux), ms. */
  readonly maxOnCpuGapMs: number | undefined;
  /** Event-loop turns the sliced work yielded during the step. */
  readonly turns: number;
  /** The xDS work in flight during the probe's largest gap, e.g. `EDS ×1000 onUpdate`. */
  readonly longestBlockHandled: string;
  /** What the probe's largest gap was made of, e.g. `GC 6.1, resource decode 4.0, other 2.2`. */
  readonly longestBlockMadeOf: string;
  /** For the profiled round: where the longest block's samples went. */
  readonly profile?: BlockProfile;
}

const gc = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function runPhase(
  rt: Runtime,
  cp: ControlPlaneChild,
  phase: PhaseName,
  round: number,
  opts: { clusters: number; endpoints: number; gens: number[]; session: Session | undefined },
): Promise<PhaseResult> {
  gc();
  await sleep(100);
  const cmd: ChildCommand =
    phase === 'initial' ? { op: 'initial', clusters: opts.clusters, endpoints: opts.endpoints } : phase === 'updateAll' ? { op: 'updateAll' } : { op: 'updateOne', index: ONE_INDEX };
  // The generations the child is about to serve.
  if (phase === 'initial') opts.gens.splice(0, opts.gens.length, ...new Array<number>(opts.clusters).fill(0));
  else if (phase === 'updateAll') for (let i = 0; i < opts.gens.length; i++) opts.gens[i]!++;
  else opts.gens[ONE_INDEX]!++;

  let finish!: (end: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  let finished = false;
  trace.clear();
  segments.clear();
  trace.afterReconcile = (end) => {
    // Checked outside the reconcile's own block; the reconcile's end is the moment it held.
    setImmediate(() => {
      if (!finished && allActive(rt, opts.gens, opts.endpoints)) {
        finished = true;
        finish(end);
      }
    });
  };

  const hist = monitorEventLoopDelay({ resolution: 1 });
  const probe = new GapProbe();
  let hrOffsetUs = 0;
  if (opts.session !== undefined) {
    await opts.session.post('Profiler.enable');
    await opts.session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
    await opts.session.post('Profiler.start');
    // performance.now() and the profile's clock (CLOCK_MONOTONIC µs) differ by a constant.
    hrOffsetUs = Number(process.hrtime.bigint() / 1000n) - performance.now() * 1000;
  }
  hist.enable();
  probe.start();
  const turns0 = sliceTurns();
  const t0 = performance.now();
  const reply = await cp.call(cmd);
  const activeAt = await withTimeout(done, PHASE_TIMEOUT_MS, `${API_LABEL[rt.api]} ${phase}: all clusters active`);
  await sleep(SETTLE_MS);
  probe.stop();
  hist.disable();
  trace.afterReconcile = undefined;
  let profile: BlockProfile | undefined;
  if (opts.session !== undefined) {
    const { profile: p } = await opts.session.post('Profiler.stop');
    await opts.session.post('Profiler.disable');
    const file = path.join(os.tmpdir(), `legate-xds-apply-${API_LABEL[rt.api]}-${phase}.cpuprofile`);
    fs.writeFileSync(file, JSON.stringify(p));
    const [a, b] = probe.window;
    profile = analyzeBlock(p, a * 1000 + hrOffsetUs, b * 1000 + hrOffsetUs, probe.maxGapMs, file);
  }

  const [ga, gb] = probe.window;
  const longestBlockHandled = inFlight(ga, gb);
  const longestBlockMadeOf = composition(ga, gb);
  if (process.env['XDS_APPLY_DEBUG']) {
    const inGap = segments.list.filter((x) => x.end > ga && x.start < gb).sort((x, y) => (y.end - y.start) - (x.end - x.start)).slice(0, 6);
    process.stderr.write(`  gap ${f1(ga)}..${f1(gb)}: ${inGap.map((x) => `${x.label} ${f1(x.end - x.start)} @${f1(x.start - ga)}`).join('; ')}\n`);
  }
  const msgs = trace.messages.filter((m) => m.start >= t0 && m.start <= activeAt);
  const firstResponse = msgs[0]?.start ?? t0;
  // handleMessage starts after onMessage queued the response; the span from arrival is what a
  // control plane waiting for the ACK sees.
  const responseMs = trace.responses.filter((r) => r.start >= t0).map((r) => {
    const arrival = [...trace.messages].reverse().find((m) => m.start <= r.start)?.start ?? r.start;
    return r.end - arrival;
  });
  return {
    api: rt.api,
    phase,
    round,
    applyMs: activeAt - firstResponse,
    commandMs: activeAt - t0,
    childEncodeMs: reply.encodeMs ?? 0,
    responses: msgs.length,
    histMaxMs: hist.max / 1e6,
    histP99Ms: hist.percentile(99) / 1e6,
    probeMaxGapMs: probe.maxGapMs,
    waitInMaxGapMs: probe.waitInMaxGapMs,
    maxOnCpuGapMs: probe.maxOnCpuGapMs,
    maxResponseMs: Math.max(0, ...responseMs),
    maxReconcileMs: Math.max(0, ...trace.reconciles.filter((r) => r.start >= t0).map((r) => r.end - r.start)),
    turns: sliceTurns() - turns0,
    longestBlockHandled,
    longestBlockMadeOf,
    ...(profile !== undefined ? { profile } : {}),
  };
}

// ===================================================================== profile attribution

interface BlockProfile {
  /** Length of the block as the probe saw it, ms. */
  readonly blockMs: number;
  /** Sampled (non-idle) time inside the block, ms. */
  readonly sampledMs: number;
  /** Stage → ms inside the block. */
  readonly stages: ReadonlyMap<string, number>;
  /** Top self-time functions inside the block: label → ms. */
  readonly topSelf: ReadonlyArray<[string, number]>;
  /** Self time by component (source file, with protobufjs split up) inside the block: label → ms. */
  readonly byComponent: ReadonlyArray<[string, number]>;
  /** Callers of protobufjs' `fullName` getter inside the block: label → ms. */
  readonly fullNameCallers: ReadonlyArray<[string, number]>;
  readonly file: string;
  /** True when the probe window could not be placed on the profile's clock (whole step used). */
  readonly fallback: boolean;
}

type Frame = Runtime.CallFrame;

/** Functions of xds-manager.js that validate and commit an update (the rest apply it). */
const UPDATE_FUNCTIONS = new Set(['onUpdate', 'validateAndCommit', 'validateAll', 'validate', 'commit', 'countUpdate', 'digestOf', 'bufferAware', 'decode', 'issue']);

/**
 * Stages, innermost wins: a sample belongs to the deepest frame on its stack that names a
 * stage. Order within the list does not matter except for ties on one frame.
 */
const STAGES: ReadonlyArray<{ readonly label: string; readonly test: (f: Frame) => boolean }> = [
  { label: 'DiscoveryResponse protobuf decode (decodeResponseInSlices)', test: (f) => f.url.endsWith('/xds/ads/discovery-messages.js') && /^(decodeResponseInSlices|setResourcesAside)$/.test(f.functionName) },
  { label: 'per-resource decode: protobufjs + normalize + PGV (decodeResourceAny → decodeAnyBinary)', test: (f) => f.url.endsWith('/xds/ads/resource-decoder.js') && f.functionName !== 'digest' },
  { label: 'sha1 of each resource\'s bytes (resource-decoder digest)', test: (f) => f.url.endsWith('/xds/ads/resource-decoder.js') && f.functionName === 'digest' },
  { label: 'subscription bookkeeping (handleResponse, ledger)', test: (f) => /\/xds\/ads\/(sotw-subscription|delta-subscription|resource-ledger|type-subscription)\.js$/.test(f.url) },
  { label: 'ACK encode + write (encodeRequest, send)', test: (f) => (f.url.endsWith('/xds/ads/discovery-messages.js') && f.functionName === 'encodeRequest') || (f.url.endsWith('/xds/ads/ads-client.js') && f.functionName === 'send') },
  { label: 'XdsManager.onUpdate: validate (digest check), commit, maps', test: (f) => f.url.endsWith('/xds/xds-manager.js') && UPDATE_FUNCTIONS.has(f.functionName) },
  { label: 'model decode (decodeCluster / decodeLoadAssignment, cluster model hash)', test: (f) => f.url.includes('/xds/resources/') },
  { label: 'XdsManager.apply: gather models, EDS/RDS subscribe lists', test: (f) => f.url.endsWith('/xds/xds-manager.js') && !UPDATE_FUNCTIONS.has(f.functionName) },
  { label: 'time slicing (TimeSlicer, turn queue)', test: (f) => f.url.endsWith('/common/time-slices.js') },
  { label: 'ClusterManager.reconcile (diff, maps, stop old)', test: (f) => f.url.endsWith('/upstream/cluster-manager.js') },
  { label: 'Cluster/Host objects (new Cluster, setEndpoints, new Host)', test: (f) => (f.url.endsWith('/upstream/cluster.js') && f.functionName !== 'rebuildPicker') || f.url.endsWith('/upstream/host.js') },
  { label: 'picker rebuild (rebuildPicker, pickers)', test: (f) => (f.url.endsWith('/upstream/cluster.js') && f.functionName === 'rebuildPicker') || f.url.endsWith('/upstream/picker.js') || f.url.includes('/upstream/pickers/') },
  { label: 'ListenerManager.apply', test: (f) => f.url.endsWith('/listener/listener-manager.js') },
  { label: 'garbage collector', test: (f) => f.functionName === '(garbage collector)' },
  { label: 'gRPC/HTTP2 receive (grpc-js, node:http2)', test: (f) => f.url.includes('@grpc/grpc-js') || f.url.includes('internal/http2') },
];
const OTHER = 'other (V8 "(program)", timers, probe, ...)';

function frameLabel(f: Frame): string {
  if (f.url === '' && (f.functionName === '' || f.functionName === '(anonymous)')) return '(anonymous: protobufjs generated decode/toObject code)';
  const file = f.url === '' ? '' : ` ${f.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '')}:${f.lineNumber + 1}`;
  return `${f.functionName || '(anonymous)'}${file}`;
}

const sourceLines = new Map<string, string[]>();

/** True when the source around the frame's first line mentions `needle` (cached per file). */
function sourceMentions(f: Frame, needle: string): boolean {
  let lines = sourceLines.get(f.url);
  if (lines === undefined) {
    try {
      lines = fs.readFileSync(new URL(f.url), 'utf8').split('\n');
    } catch {
      lines = [];
    }
    sourceLines.set(f.url, lines);
  }
  return lines.slice(Math.max(0, f.lineNumber - 1), f.lineNumber + 1).some((l) => l.includes(needle));
}

/** protobufjs' `fullName` getter (checked against the source, not a line number). */
function isFullNameGetter(f: Frame): boolean {
  return sourceMentions(f, 'fullName');
}

/** The getter tsc emits for every `import * as x` binding (`__createBinding`): one call per `x.Member` read. */
function isImportStarGetter(f: Frame): boolean {
  return f.functionName === 'get' && f.url.includes('/dist/') && sourceMentions(f, 'return m[k]');
}

/** Where a frame's self time goes, coarser than a function: its file, protobufjs split up. */
function componentOf(f: Frame): string {
  if (f.url.includes('/protobufjs/src/object.js') && f.functionName === 'get' && isFullNameGetter(f)) return 'protobufjs `ReflectionObject.fullName` getter (rebuilds the dotted name on every call)';
  if (f.url === '' && (f.functionName === '' || f.functionName === '(anonymous)' || f.functionName.includes('$'))) return 'protobufjs generated decode/toObject code';
  if (f.url.includes('/protobufjs/')) return 'protobufjs runtime (reader, util, type)';
  if (isImportStarGetter(f)) return 'tsc `import * as` interop getters (`__createBinding`, e.g. every `protobuf.Type` read)';
  if (f.functionName.startsWith('(')) return `V8 ${f.functionName}`;
  if (f.url.startsWith('node:')) return `Node \`${f.url.replace(/^node:(internal\/)?/, '')}\``;
  if (f.url === '') return `builtin ${f.functionName}`;
  return `\`${f.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '')}\``;
}

function analyzeBlock(p: Profiler.Profile, fromUs: number, toUs: number, blockMs: number, file: string): BlockProfile {
  const byId = new Map<number, Profiler.ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const stageOf = new Map<number, string>();
  const stageFor = (id: number): string => {
    const cached = stageOf.get(id);
    if (cached !== undefined) return cached;
    let stage = OTHER;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const s = STAGES.find((st) => st.test(f));
      if (s !== undefined) {
        stage = s.label;
        break;
      }
    }
    stageOf.set(id, stage);
    return stage;
  };
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  const times: number[] = [];
  let t = p.startTime;
  for (let i = 0; i < samples.length; i++) times.push((t += deltas[i] ?? 0));
  // Sanity check of the clock mapping: the window must fall inside the profile.
  const fallback = !(fromUs >= p.startTime - 1000 && toUs <= p.endTime + 1000);
  const lo = fallback ? p.startTime : fromUs;
  const hi = fallback ? p.endTime : toUs;
  const stages = new Map<string, number>();
  const self = new Map<string, number>();
  const components = new Map<string, number>();
  const fullNameCallers = new Map<string, number>();
  let sampledUs = 0;
  for (let i = 0; i < samples.length; i++) {
    const ts = times[i]!;
    if (ts < lo || ts > hi) continue;
    const node = byId.get(samples[i]!)!;
    const fn = node.callFrame.functionName;
    if (fn === '(idle)') continue;
    const w = (times[i + 1] ?? ts + SAMPLING_INTERVAL_US) - ts;
    sampledUs += w;
    const stage = stageFor(node.id);
    stages.set(stage, (stages.get(stage) ?? 0) + w / 1000);
    const label = frameLabel(node.callFrame);
    self.set(label, (self.get(label) ?? 0) + w / 1000);
    const component = componentOf(node.callFrame);
    components.set(component, (components.get(component) ?? 0) + w / 1000);
    if (component.includes('fullName')) {
      const caller = parent.get(node.id);
      const label = caller === undefined ? '(root)' : (byId.get(caller)!.callFrame.functionName || '(anonymous)');
      fullNameCallers.set(label, (fullNameCallers.get(label) ?? 0) + w / 1000);
    }
  }
  const topSelf = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  const byComponent = [...components.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
  return {
    blockMs, sampledMs: sampledUs / 1000, stages, topSelf, byComponent, file, fallback,
    fullNameCallers: [...fullNameCallers.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3),
  };
}

// ===================================================================== main

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function f1(x: number): string {
  return x.toFixed(1);
}

function fOpt(x: number | undefined): string {
  return x === undefined ? '–' : x.toFixed(1);
}

function fInt(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

function machineLine(loadAtStart: number): string {
  const cpus = os.cpus();
  const model = (cpus[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim();
  return `${new Date().toISOString().slice(0, 10)}, ${model} ×${cpus.length} (load ${loadAtStart.toFixed(1)} at start), node ${process.version}`;
}

function commitLine(): string {
  try {
    const root = path.resolve(__dirname, '../../..');
    const sha = execSync('git rev-parse --short HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() !== '';
    return `${sha}${dirty ? '-dirty' : ''}`;
  } catch {
    return 'unknown';
  }
}

const PHASE_LABEL: Record<PhaseName, string> = {
  initial: 'initial load: 1,000 clusters + 1,000 assignments',
  updateAll: 'update: every assignment changed',
  updateOne: 'update: 1 assignment of 1,000 changed',
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      clusters: { type: 'string', default: '1000' },
      endpoints: { type: 'string', default: '10' },
      'no-profile': { type: 'boolean', default: false },
      'no-append': { type: 'boolean', default: false },
      results: { type: 'string', default: path.resolve(__dirname, '../../../bench/RESULTS.md') },
    },
  });
  const rounds = Number(values.rounds);
  const clusters = Number(values.clusters);
  const endpoints = Number(values.endpoints);
  if (clusters <= ONE_INDEX) throw new Error(`--clusters must be more than ${ONE_INDEX}`);
  const started = performance.now();
  const machine = machineLine(os.loadavg()[0] ?? 0);
  setLevel('warning');
  installHooks();
  installSegmentHooks();
  const cp = await ControlPlaneChild.start();
  const results: PhaseResult[] = [];
  const rss: RssRecord[] = [];
  const profiled = values['no-profile'] ? 0 : 1;
  try {
    for (let round = 0; round < rounds + profiled; round++) {
      const profiling = round === rounds;
      const apis: ApiType[] = round % 2 === 0 ? ['GRPC', 'DELTA_GRPC'] : ['DELTA_GRPC', 'GRPC'];
      for (const api of apis) {
        await cp.call({ op: 'reset' });
        const rt = await startRuntime(api, cp.port);
        const session = profiling ? new Session() : undefined;
        session?.connect();
        const gens: number[] = [];
        try {
          gc();
          const before = process.memoryUsage();
          for (const phase of PHASES) {
            const r = await runPhase(rt, cp, phase, round, { clusters, endpoints, gens, session });
            results.push(r);
            if (phase === 'initial' && !profiling) {
              gc();
              const mem = process.memoryUsage();
              rss.push({ api, before: before.rss, after: mem.rss, heapBefore: before.heapUsed, heapAfter: mem.heapUsed });
            }
            process.stderr.write(
              `${profiling ? 'profile' : `round ${round + 1}`} ${API_LABEL[api].padEnd(5)} ${phase.padEnd(9)} apply ${f1(r.applyMs)} ms ` +
                `(cmd→active ${f1(r.commandMs)}, child encode ${f1(r.childEncodeMs)}), ${r.responses} responses, ` +
                `block max ${f1(r.histMaxMs)} ms / p99 ${f1(r.histP99Ms)} / probe ${f1(r.probeMaxGapMs)} (waiting for a CPU ${fOpt(r.waitInMaxGapMs)}; net of waits max ${fOpt(r.maxOnCpuGapMs)}), ` +
                `response→ACK max ${f1(r.maxResponseMs)}, reconcile span ${f1(r.maxReconcileMs)}, ${r.turns} turns, longest block during: ${r.longestBlockHandled}: ${r.longestBlockMadeOf}\n`,
            );
          }
        } finally {
          session?.disconnect();
          stopRuntime(rt);
        }
        await sleep(200);
      }
    }
  } finally {
    cp.stop();
  }
  const wallS = (performance.now() - started) / 1000;
  const section = report(results, rss, { rounds, clusters, endpoints, machine, wallS, profiled: profiled > 0 });
  process.stdout.write(`\n${section}\n`);
  if (!values['no-append']) {
    fs.appendFileSync(values.results, `\n${section}`);
    process.stderr.write(`appended to ${values.results}\n`);
  }
}

interface RssRecord {
  readonly api: ApiType;
  readonly before: number;
  readonly after: number;
  readonly heapBefore: number;
  readonly heapAfter: number;
}

function report(
  results: readonly PhaseResult[],
  rss: readonly RssRecord[],
  o: { rounds: number; clusters: number; endpoints: number; machine: string; wallS: number; profiled: boolean },
): string {
  const measured = results.filter((r) => r.profile === undefined);
  const pick = (api: ApiType, phase: PhaseName): PhaseResult[] => measured.filter((r) => r.api === api && r.phase === phase);
  const cell = (xs: readonly number[]): string => (xs.length === 1 ? f1(xs[0]!) : `${f1(median(xs))} (${xs.map(f1).join(' / ')})`);
  const cellOpt = (xs: ReadonlyArray<number | undefined>): string => (xs.every((x) => x !== undefined) ? cell(xs as number[]) : '–');
  const lines: string[] = [];
  lines.push(`## xDS: applying ${fInt(o.clusters)} clusters / ${fInt(o.clusters * o.endpoints)} endpoints (${o.machine})`, '');
  lines.push(
    `\`bench/micro/xds-apply.ts\` (commit \`${commitLine()}\`): the real \`AdsClient\` + \`XdsManager\` + \`ClusterManager\` + ` +
      `\`ListenerManager\` from an ADS bootstrap (LDS and CDS over ADS, as Istio's), against the fake control plane running in a ` +
      `forked child process (it builds and encodes the resources; none of its CPU is in these numbers). ` +
      `${fInt(o.clusters)} EDS clusters (HTTP/2, round robin) and ${fInt(o.clusters)} ClusterLoadAssignments of ${o.endpoints} ` +
      `endpoints each; the \`update\` steps change the first endpoint's port in every assignment, or in one. ` +
      `${o.rounds} round${o.rounds === 1 ? '' : 's'}, a fresh client per API type per round (rounds alternate which API goes first; round 1 is cold JIT). ` +
      `**apply** = first response reaching \`AdsClient.onMessage\` → end of the \`ClusterManager.reconcileInSlices\` after which every cluster ` +
      `is active with its hosts at the new addresses (for the initial load that spans the CDS response, the EDS request it triggers and the EDS response). **Event-loop blocks** are watched from the command to ${SETTLE_MS} ms after ` +
      `that: \`monitorEventLoopDelay({resolution: 1})\` max and p99, and the largest gap between ticks of a 1 ms \`setInterval\` probe; ` +
      `on a shared machine part of a gap can be the process waiting for a CPU rather than running, so each tick also reads the main thread's ` +
      `\`/proc/<pid>/task/<pid>/schedstat\`: **waiting for a CPU** = the main thread's run-queue wait inside the largest gap, **longest block net of waiting for a CPU** = ` +
      `the largest gap between two ticks minus the run-queue wait inside it (our own work and GC pauses, not the machine's other load). ` +
      `The work is spread over event-loop turns (${SLICE_MS} ms slices through one shared turn queue: ahead-of-time resource decode, \`XdsManager.onUpdate\` model decode, ` +
      `\`ClusterManager.reconcileInSlices\`), so the next columns are spans, not blocks: **response → ACK** = the longest time from a response's arrival to its ACK/NACK being sent ` +
      `(decode, validation and commit; applying follows on its own); **reconcile span** = the longest \`reconcileInSlices\` from start to the swap of the new cluster map ` +
      `(and the stop of dropped clusters); **turns** = event-loop turns the sliced work yielded in the step. ` +
      `**longest block** = for the round with the largest probe gap, the xDS work in flight then (spans overlapping it) and what the gap was made of: ` +
      `time inside the DiscoveryResponse decode, per-resource decode (\`decodeAnyBinary\`), model decode, commit, Cluster construction and request encode ` +
      `(wrappers that read the clock), GC pauses (\`PerformanceObserver\` \`gc\` entries), and "other" (gRPC receive, state machines, bookkeeping, timers, the probe itself, or the process waiting for a CPU). Cells: median (${o.rounds > 1 ? `round ${Array.from({ length: o.rounds }, (_, i) => i + 1).join(' / ')}` : 'one round'}). ` +
      `A GC runs before each step. Whole run ${o.wallS.toFixed(0)} s.`,
    '',
  );
  lines.push(`| API | step | responses | apply ms | block max ms (histogram) | block p99 ms | probe max gap ms | of which waiting for a CPU ms | longest block net of waiting for a CPU ms | response → ACK ms | reconcile span ms | turns | longest block: xDS work in flight; what it was made of (ms) | ≤ ${TARGET_MS} ms? |`);
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|');
  for (const api of ['GRPC', 'DELTA_GRPC'] as const) {
    for (const phase of PHASES) {
      const rs = pick(api, phase);
      if (rs.length === 0) continue;
      const worst = Math.max(...rs.map((r) => Math.max(r.histMaxMs, r.probeMaxGapMs)));
      lines.push(
        `| ${API_LABEL[api]} | ${PHASE_LABEL[phase]} | ${rs.map((r) => r.responses).join(' / ')} | ${cell(rs.map((r) => r.applyMs))} | ` +
          `${cell(rs.map((r) => r.histMaxMs))} | ${cell(rs.map((r) => r.histP99Ms))} | ${cell(rs.map((r) => r.probeMaxGapMs))} | ` +
          `${cellOpt(rs.map((r) => r.waitInMaxGapMs))} | ${cellOpt(rs.map((r) => r.maxOnCpuGapMs))} | ` +
          `${cell(rs.map((r) => r.maxResponseMs))} | ${cell(rs.map((r) => r.maxReconcileMs))} | ${rs.map((r) => r.turns).join(' / ')} | ${longestOf(rs)} | ${worst <= TARGET_MS ? 'yes' : `**no** (worst ${f1(worst)})`} |`,
      );
    }
  }
  lines.push('');
  const mib = (b: number): string => (b / 1048576).toFixed(1);
  const rssText = (['GRPC', 'DELTA_GRPC'] as const)
    .map((api) => {
      const rs = rss.filter((r) => r.api === api);
      if (rs.length === 0) return '';
      return (
        `${API_LABEL[api]} ${rs.map((r) => mib(r.after)).join(' / ')} MiB (before the load ${rs.map((r) => mib(r.before)).join(' / ')}); ` +
        `JS heap used ${rs.map((r) => mib(r.heapAfter)).join(' / ')} MiB (before ${rs.map((r) => mib(r.heapBefore)).join(' / ')})`
      );
    })
    .filter((s) => s !== '')
    .join('; ');
  lines.push(
    `Memory after the initial load (after a GC), per round: ${rssText}. RSS is the whole process (Envoy's protos, grpc-js, the ` +
      `previous runtimes' freed-but-retained pages), so the JS heap growth is the cleaner measure of what 1,000 clusters and ` +
      `10,000 hosts cost.`,
    '',
  );

  // Verdict.
  const worstOf = (r: PhaseResult): number => Math.max(r.histMaxMs, r.probeMaxGapMs);
  const over = measured.filter((r) => worstOf(r) > TARGET_MS);
  const worst = measured.reduce((a, b) => (worstOf(b) > worstOf(a) ? b : a), measured[0]!);
  const overSteps = [...new Set(over.map((r) => `${API_LABEL[r.api]} ${r.phase}`))];
  if (over.length === 0) {
    lines.push(`**Verdict: the ${TARGET_MS} ms target is met** — no event-loop block over ${TARGET_MS} ms in any step of any round (worst ${f1(worstOf(worst))} ms, ${API_LABEL[worst.api]} ${worst.phase}).`, '');
  } else {
    const okSteps = PHASES.flatMap((ph) => (['GRPC', 'DELTA_GRPC'] as const).map((api) => ({ api, ph }))).filter(({ api, ph }) => pick(api, ph).length > 0 && pick(api, ph).every((r) => worstOf(r) <= TARGET_MS));
    lines.push(
      `**Verdict: the ${TARGET_MS} ms target is NOT met.** The longest single event-loop block was ${f1(worstOf(worst))} ms ` +
        `(${API_LABEL[worst.api]}, ${PHASE_LABEL[worst.phase]}, round ${worst.round + 1}); steps over ${TARGET_MS} ms in at least one round: ` +
        `${overSteps.join(', ')}.` +
        (okSteps.length > 0 ? ` Within the target in every round: ${okSteps.map(({ api, ph }) => `${API_LABEL[api]} ${ph}`).join(', ')}.` : '') +
        ' The "longest block" column says what those blocks were made of.',
      '',
    );
  }
  const onCpu = measured.map((r) => r.maxOnCpuGapMs).filter((x): x is number => x !== undefined);
  if (onCpu.length === measured.length && onCpu.length > 0) {
    const worstCpu = Math.max(...onCpu);
    lines.push(
      `Net of the main thread's waits for a CPU, the largest gap between two probe ticks was ${f1(worstCpu)} ms ` +
        `(over all steps and rounds; ${worstCpu <= TARGET_MS ? 'within' : 'over'} the ${TARGET_MS} ms target). ` +
        `Load average at the start: ${o.machine.match(/load ([0-9.]+)/)?.[1] ?? '?'} on ${os.cpus().length} CPUs.`,
      '',
    );
  }

  // Profile.
  const prof = results.filter((r) => r.profile !== undefined);
  if (prof.length > 0) {
    const stageNames = [...STAGES.map((s) => s.label), OTHER].filter((s) => prof.some((r) => (r.profile!.stages.get(s) ?? 0) > 0));
    lines.push(
      `Where the longest block goes (one more round under the V8 sampling profiler, ${SAMPLING_INTERVAL_US} µs; the samples inside each step's ` +
        `largest probe gap, attributed to the innermost stage on their stack; % of the block's sampled time, ms in parentheses; ` +
        `a separate run, so its block lengths differ from the table's):`,
      '',
    );
    const cols = prof.map((r) => `${API_LABEL[r.api]} ${r.phase}`);
    lines.push(`| stage | ${cols.join(' | ')} |`);
    lines.push(`|---|${cols.map(() => '---:').join('|')}|`);
    lines.push(`| *block length (probe), ms* | ${prof.map((r) => f1(r.profile!.blockMs) + (r.profile!.fallback ? '†' : '')).join(' | ')} |`);
    lines.push(`| *of which sampled busy, ms* | ${prof.map((r) => f1(r.profile!.sampledMs)).join(' | ')} |`);
    lines.push(`| *xDS work in flight during it* | ${prof.map((r) => r.longestBlockHandled).join(' | ')} |`);
    for (const s of stageNames) {
      lines.push(
        `| ${s} | ${prof
          .map((r) => {
            const ms = r.profile!.stages.get(s) ?? 0;
            const pct = r.profile!.sampledMs > 0 ? (ms / r.profile!.sampledMs) * 100 : 0;
            return ms === 0 ? '–' : `${pct.toFixed(0)} % (${f1(ms)})`;
          })
          .join(' | ')} |`,
      );
    }
    lines.push('');
    if (prof.some((r) => r.profile!.fallback)) lines.push('† the probe window could not be placed on the profile clock; the whole step was used.', '');
    const worstProf = prof.reduce((a, b) => (b.profile!.blockMs > a.profile!.blockMs ? b : a));
    const wp = worstProf.profile!;
    lines.push(
      `Top self-time functions in the longest profiled block (${API_LABEL[worstProf.api]} ${worstProf.phase}, ${f1(wp.blockMs)} ms): ` +
        wp.topSelf.map(([label, ms]) => `\`${label}\` ${((ms / wp.sampledMs) * 100).toFixed(0)} %`).join(', ') +
        '. Profiles: `' + path.join(os.tmpdir(), 'legate-xds-apply-<API>-<step>.cpuprofile') + '` (open in Chrome DevTools).',
      '',
    );
    lines.push(
      `Self time of that block by component: ` +
        wp.byComponent.map(([label, ms]) => `${label} ${((ms / wp.sampledMs) * 100).toFixed(0)} %`).join(', ') +
        '.',
      '',
    );
    lines.push(whatIsLeft(prof), '');
  }
  lines.push(
    'Rerun: `cd /work/main && npx tsc -p . && node dist/bench/micro/xds-apply.js` ' +
      '(`--rounds N`, `--clusters N`, `--endpoints N`, `--no-profile`, `--no-append`).',
    '',
  );
  return lines.join('\n');
}

/** The longest block of a step's rounds: the work in flight and what it was made of. */
function longestOf(rs: readonly PhaseResult[]): string {
  const worst = rs.reduce((a, b) => (b.probeMaxGapMs > a.probeMaxGapMs ? b : a));
  return `${worst.longestBlockHandled}; ${worst.longestBlockMadeOf || '–'}`;
}

/** What the longest profiled block is made of, for whoever shortens it next. */
function whatIsLeft(prof: readonly PhaseResult[]): string {
  const worst = prof.reduce((a, b) => (b.profile!.blockMs > a.profile!.blockMs ? b : a));
  const p = worst.profile!;
  const pct = (ms: number): string => `${((ms / p.sampledMs) * 100).toFixed(0)} %`;
  const ranked = [...p.stages.entries()].sort((a, b) => b[1] - a[1]).filter(([, ms]) => ms / p.sampledMs >= 0.05);
  return (
    `**What is left.** The longest profiled block (${API_LABEL[worst.api]} ${worst.phase}, ${f1(p.blockMs)} ms, with ${worst.longestBlockHandled} in flight) is ` +
    `${ranked.map(([s, ms]) => `${s} ${pct(ms)}`).join('; ')}. Every sliced loop checks its clock between items, so a slice ends at most one item ` +
    `(one resource decode, one Cluster construction) after its ${SLICE_MS} ms budget. Deliberately not sliced are a few cheap passes over the ` +
    `resources: the state machine's bookkeeping, the commit of a validated update, the ACK (in SotW it lists every subscribed name), ` +
    `the apply's gathering of models and subscriptions, and the swap of the cluster map. GC pauses come on top of whichever slice they land in.`
  );
}

if (process.argv.includes(CP_FLAG)) {
  runControlPlane().catch((err: unknown) => {
    process.stderr.write(`xds-apply control plane: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
} else if (require.main === module) {
  main()
    .then(() => process.exit(process.exitCode ?? 0))
    .catch((err: unknown) => {
      process.stderr.write(`xds-apply: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    });
}
