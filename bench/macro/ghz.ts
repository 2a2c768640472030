/**
 * ghz (https://ghz.sh), when it is installed: the gRPC load tool users of Legate load-test with.
 * The side-by-side benchmark adds a ghz closed loop to each workload × path when a `ghz`
 * binary is found (on PATH, or given with `--ghz`), so its calls/s sit next to h2load's and our
 * generator's. ghz is a Go program with no Debian package; where it cannot be installed the
 * column is left out and the report says so.
 *
 * ghz needs the method's proto: unary workloads call `helloworld.Greeter.SayHello`
 * (protos/helloworld.proto, the :path h2load and our generator use), server-streaming ones
 * `legate.bench.StreamingGreeter.SayHello` (bench/protos/streaming_greeter.proto). The bench backend
 * echoes whatever path it is sent, and streams when asked by the `bench-stream-messages` header.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../test/fakes/repo-root';
import { runForGhzReport, type GhzReport } from '../load/ghz-report';

/** The version ghz prints (`ghz -v`), or undefined when `binary` does not run. */
export function ghzVersion(binary = 'ghz'): string | undefined {
  const probe = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return undefined;
  const text = `${probe.stdout}${probe.stderr}`.trim().split('\n')[0] ?? '';
  return text === '' ? 'ghz' : /^v?\d/.test(text) ? `ghz ${text}` : text;
}

/** One ghz run. */
export interface GhzRun {
  /** The ghz executable. */
  readonly binary: string;
  /** `host:port` (plaintext HTTP/2). */
  readonly target: string;
  /** Bytes of the helloworld.HelloRequest name. */
  readonly nameBytes: number;
  /** Messages the backend sends per call: 1 = unary, more = server streaming. */
  readonly responseMessages: number;
  readonly connections: number;
  readonly concurrency: number;
  readonly durationS: number;
  /** Total rate in calls/s; 0 = closed loop. */
  readonly rps: number;
  /** Where the JSON data file and the report go. */
  readonly dir: string;
  readonly name: string;
}

/** The method ghz calls, and the proto that declares it. */
export function ghzMethod(responseMessages: number): { readonly proto: string; readonly call: string } {
  return responseMessages > 1
    ? { proto: path.join(repoRoot(), 'bench', 'protos', 'streaming_greeter.proto'), call: 'legate.bench.StreamingGreeter.SayHello' }
    : { proto: path.join(repoRoot(), 'protos', 'helloworld.proto'), call: 'helloworld.Greeter.SayHello' };
}

/** ghz's command line for a run (its documented long options; data from a JSON file, as a 64 KiB name is too long for an argument to read well). */
export function ghzArgs(run: GhzRun, dataFile: string, output: string): string[] {
  const method = ghzMethod(run.responseMessages);
  return [
    '--insecure',
    '--proto', method.proto,
    '--call', method.call,
    '--data-file', dataFile,
    ...(run.responseMessages > 1 ? ['--metadata', JSON.stringify({ 'bench-stream-messages': String(run.responseMessages) })] : []),
    '--connections', String(run.connections),
    '--concurrency', String(Math.max(run.connections, run.concurrency)),
    '--duration', `${Math.round(run.durationS * 1000)}ms`,
    ...(run.rps > 0 ? ['--rps', String(Math.round(run.rps))] : []),
    '--timeout', '30s',
    '--name', run.name,
    '--format', 'json',
    '--output', output,
    run.target,
  ];
}

/** Run ghz once and read its JSON report; rejects naming the command when ghz fails. */
export function runGhz(run: GhzRun): Promise<GhzReport> {
  const dataFile = path.join(run.dir, `ghz-data-${run.nameBytes}.json`);
  if (!fs.existsSync(dataFile)) fs.writeFileSync(dataFile, JSON.stringify({ name: 'x'.repeat(run.nameBytes) }));
  const output = path.join(run.dir, 'ghz-report.json');
  fs.rmSync(output, { force: true });
  const args = ghzArgs(run, dataFile, output);
  // ghz exits 0 even when calls fail (they are counted in the report); non-zero is a usage or connect error.
  return runForGhzReport(run.binary, args, output, `${run.binary} ${args.join(' ')}`);
}
