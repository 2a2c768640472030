/**
 * `npm run bench`: gRPC unary throughput and latency, direct vs through Legate,
 * in one run, with h2load. See bench/RESULTS.md for what is measured and how.
 *
 *   node dist/bench/macro/unary-h2load.js [--requests 20000] [--clients 10] [--streams 10]
 *       [--rate 1000] [--open-requests 10000] [--open-clients 4] [--warmup 5000]
 *       [--payload-bytes 5] [--direct-only] [--no-append] [--legate-arg X ...]
 *
 * Needs h2load (Debian/Ubuntu: `apt-get install nghttp2-client`; macOS: `brew install nghttp2`).
 * Legate must be built (`npm run build`). `--direct-only` measures the backend alone
 * (checks the harness without Legate; nothing is appended).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../../test/fakes/free-port';
import { frameMessage } from '../../test/fakes/grpc-frame';
import { createTestClient } from '../../test/fakes/grpc-client';
import { legateCommand, startLegate, type LegateProcess } from '../../test/fakes/legate-process';
import { messageCodec } from '../../test/fakes/proto-service';
import { repoRoot } from '../../test/fakes/repo-root';
import { startBackend, type BackendProcess } from './backend-process';
import { benchBootstrap } from './bench-config';
import { gitCommit, machine } from '../common/run-context';
import { h2loadVersion, runH2load, type H2loadResult } from './h2load';
import { cpuSeconds, peakRssMiB, procAvailable } from './proc-stats';
import { renderSection, type PathResult } from './results-table';

const GRPC_PATH = '/helloworld.Greeter/SayHello';
const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

interface Options {
  readonly requests: number;
  readonly clients: number;
  readonly streams: number;
  readonly rate: number;
  readonly openRequests: number;
  readonly openClients: number;
  readonly warmup: number;
  readonly payloadBytes: number;
  readonly directOnly: boolean;
  readonly append: boolean;
  readonly legateArgs: readonly string[];
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '20000' },
      clients: { type: 'string', default: '10' },
      streams: { type: 'string', default: '10' },
      rate: { type: 'string', default: '1000' },
      'open-requests': { type: 'string', default: '10000' },
      'open-clients': { type: 'string', default: '4' },
      warmup: { type: 'string', default: '5000' },
      'payload-bytes': { type: 'string', default: '5' },
      'direct-only': { type: 'boolean', default: false },
      'no-append': { type: 'boolean', default: false },
      'legate-arg': { type: 'string', multiple: true, default: [] },
    },
  });
  const n = (name: keyof typeof values): number => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a non-negative number`);
    return v;
  };
  return {
    requests: n('requests'),
    clients: n('clients'),
    streams: n('streams'),
    rate: n('rate'),
    openRequests: n('open-requests'),
    openClients: Math.max(1, n('open-clients')),
    warmup: n('warmup'),
    payloadBytes: n('payload-bytes'),
    directOnly: values['direct-only'] === true,
    append: values['no-append'] !== true,
    legateArgs: values['legate-arg'] as string[],
  };
}

// === one path ===

interface Target {
  readonly path: 'direct' | 'legate';
  readonly url: string;
  readonly proxyPid: number | undefined;
}

async function measure(target: Target, backend: BackendProcess, bodyFile: string, options: Options, tmp: string): Promise<PathResult> {
  const base = { url: target.url, bodyFile };
  if (options.warmup > 0) {
    log(`${target.path}: warm-up, ${options.warmup} requests`);
    await runH2load({ ...base, requests: options.warmup, clients: options.clients, streams: options.streams });
  }

  log(`${target.path}: closed loop, -n ${options.requests} -c ${options.clients} -m ${options.streams}`);
  const servedBefore = await backend.requests();
  const backendCpuBefore = cpuSeconds(backend.child.pid!);
  const proxyCpuBefore = target.proxyPid !== undefined ? cpuSeconds(target.proxyPid) : 0;
  const closed = await runH2load({
    ...base,
    requests: options.requests,
    clients: options.clients,
    streams: options.streams,
    logFile: path.join(tmp, `${target.path}-closed.tsv`),
  });
  const proxyCpu = target.proxyPid !== undefined ? cpuSeconds(target.proxyPid) - proxyCpuBefore : undefined;
  const backendCpu = cpuSeconds(backend.child.pid!) - backendCpuBefore;
  const served = (await backend.requests()) - servedBefore;
  report(target.path, 'closed', closed, served);

  let open: H2loadResult | undefined;
  if (options.rate > 0 && options.openRequests > 0) {
    const perClient = Math.max(1, Math.round(options.rate / options.openClients));
    log(`${target.path}: open loop, ${perClient * options.openClients} req/s (${options.openClients} × ${perClient}), ${options.openRequests} requests`);
    const before = await backend.requests();
    const started = Date.now();
    open = await runH2load({
      ...base,
      requests: options.openRequests,
      clients: options.openClients,
      streams: options.streams,
      ratePerClient: perClient,
      logFile: path.join(tmp, `${target.path}-open.tsv`),
    });
    log(`${target.path}: open loop took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    report(target.path, 'open', open, (await backend.requests()) - before);
  }

  const errors = (r: H2loadResult | undefined, servedCount: number): number =>
    r === undefined ? 0 : r.failed + r.errored + r.timeout + r.non2xx + Math.max(0, r.succeeded - servedCount);
  return {
    path: target.path,
    closedReqPerSec: closed.reqPerSec,
    closedLatency: closed.latency,
    openReqPerSec: open?.reqPerSec ?? NaN,
    openLatency: open?.latency,
    proxyCpuUsPerCall: proxyCpu !== undefined && served > 0 ? (proxyCpu * 1e6) / served : undefined,
    proxyPeakRssMiB: target.proxyPid !== undefined ? peakRssMiB(target.proxyPid) : undefined,
    backendCpuUsPerCall: served > 0 ? (backendCpu * 1e6) / served : NaN,
    errors: errors(closed, served),
  };
}

function report(pathName: string, loop: string, r: H2loadResult, served: number): void {
  const lat = r.latency;
  log(
    `${pathName} ${loop}: ${Math.round(r.reqPerSec)} req/s, ${r.succeeded} ok / ${r.failed} failed / ${r.errored} errored, backend served ${served}` +
      (lat !== undefined ? `, p50 ${lat.p50Us} µs, p99 ${lat.p99Us} µs` : ''),
  );
  if (r.succeeded > served) log(`WARNING: h2load saw ${r.succeeded - served} 2xx responses the backend never served (local replies with a grpc-status?)`);
}

// === main ===

async function main(): Promise<number> {
  const options = parseOptions();
  const h2load = h2loadVersion();
  if (h2load === undefined) {
    log('h2load is not installed. It comes with nghttp2:');
    log('  Debian/Ubuntu: sudo apt-get install nghttp2-client');
    log('  Fedora/RHEL:   sudo dnf install nghttp2');
    log('  macOS:         brew install nghttp2');
    return 2;
  }
  if (!procAvailable()) log('no /proc here: CPU and RSS columns will be wrong (Linux only)');
  if (!options.directOnly) {
    const { command, args } = legateCommand();
    const entry = args[0] ?? command;
    if (!fs.existsSync(entry) || !fs.existsSync(path.join(repoRoot(), 'dist', 'src', 'main.js'))) {
      log('Legate is not built (dist/src/main.js missing): run `npm run build`, or pass --direct-only.');
      return 2;
    }
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-bench-'));
  const bodyFile = path.join(tmp, 'hello.bin');
  const hello = messageCodec<{ name: string }>('helloworld.proto', 'helloworld.HelloRequest');
  const body = frameMessage(hello.encode({ name: 'x'.repeat(options.payloadBytes) }));
  fs.writeFileSync(bodyFile, body);

  const backend = await startBackend();
  let legate: LegateProcess | undefined;
  const cleanup = async (): Promise<void> => {
    if (legate !== undefined) await legate.stop('SIGTERM', 5000);
    backend.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

  try {
    const directTarget = `127.0.0.1:${backend.port}`;
    await sanityCall(directTarget, 'direct');
    const targets: Target[] = [{ path: 'direct', url: `http://${directTarget}${GRPC_PATH}`, proxyPid: undefined }];

    if (!options.directOnly) {
      const adminPort = await freePort();
      const listenerPort = await freePort();
      legate = await startLegate({
        configYaml: benchBootstrap({ adminPort, listenerPort, backendPort: backend.port }),
        args: options.legateArgs,
        readyTimeoutMs: 20000,
      });
      log(`Legate pid ${legate.pid} ready: listener 127.0.0.1:${listenerPort}, admin ${adminPort}`);
      await sanityCall(`127.0.0.1:${listenerPort}`, 'legate');
      targets.push({ path: 'legate', url: `http://127.0.0.1:${listenerPort}${GRPC_PATH}`, proxyPid: legate.pid });
    }

    const started = Date.now();
    const results: PathResult[] = [];
    for (const target of targets) results.push(await measure(target, backend, bodyFile, options, tmp));
    log(`measured in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const perClient = Math.max(1, Math.round(options.rate / options.openClients));
    const section = renderSection(
      {
        date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        machine: machine(),
        commit: gitCommit(),
        node: process.version,
        h2load,
        workload:
          `Workload: gRPC unary \`${GRPC_PATH}\`, ${body.length}-byte request body, echoed. ` +
          `Closed loop \`-n ${options.requests} -c ${options.clients} -m ${options.streams} -t 1\`` +
          (options.rate > 0 ? `; open loop ${perClient * options.openClients} req/s (\`-c ${options.openClients} -m ${options.streams} --rps ${perClient}\`, ${options.openRequests} requests)` : '') +
          `; ${options.warmup} warm-up requests per path` +
          (options.legateArgs.length > 0 ? `; Legate args \`${options.legateArgs.join(' ')}\`` : '') +
          '.',
      },
      results,
    );
    process.stdout.write(`\n${section}\n`);
    if (options.append && !options.directOnly) {
      fs.appendFileSync(path.join(repoRoot(), 'bench', 'RESULTS.md'), `\n${section}`);
      log('appended to bench/RESULTS.md');
    } else {
      log('not appended to bench/RESULTS.md (--direct-only or --no-append)');
    }
    return 0;
  } catch (err) {
    if (legate !== undefined) {
      await new Promise((r) => setTimeout(r, 100));
      const exited = await Promise.race([legate.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 50))]);
      log(`Legate ${exited !== undefined ? `exited (code ${exited.code}, signal ${exited.signal})` : 'is still running'}; its stderr ends with:`);
      process.stderr.write(legate.stderr.slice(-30).map((l) => `    ${l}`).join('\n') + '\n');
    }
    throw err;
  } finally {
    await cleanup();
  }
}

/** One grpc-js call, to fail early and clearly if the path does not speak gRPC properly. */
async function sanityCall(target: string, label: string): Promise<void> {
  const client = createTestClient('helloworld', target);
  try {
    const outcome = await client.unarySettled<{ name: string }, { message: string }>('SayHello', { name: 'sanity' }, { deadlineMs: 5000 });
    if (!outcome.ok || outcome.response?.message !== 'sanity') {
      throw new Error(`${label} sanity call failed: status ${outcome.status.code} ${outcome.status.details}, reply ${JSON.stringify(outcome.response)}`);
    }
  } finally {
    client.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  },
);
