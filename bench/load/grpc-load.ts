/**
 * Our own gRPC load generator (ghz cannot be installed here): a real
 * gRPC-over-HTTP/2 client on node:http2 that sends one length-prefixed message
 * per call, reads the whole response (unary or server streaming) and the
 * `grpc-status` trailer, and writes ghz's JSON report (see ghz-report.ts).
 *
 * Two modes, as ghz:
 * - closed loop: `--concurrency C` callers, each issuing its next call when the
 *   previous one ends, spread over `--connections N` HTTP/2 connections;
 * - open loop: `--rps R` calls per second in total, issued on schedule whatever
 *   the responses do (latency percentiles below the knee). Latency is measured
 *   from the moment a call is issued, as ghz does; the schedule is kept by a 1 ms
 *   timer that issues every call due so far, so a stalled generator issues late
 *   calls in a burst rather than dropping them.
 *
 *   node dist/bench/load/grpc-load.js --target 127.0.0.1:8080 --call helloworld.Greeter/SayHello
 *       [--data-bytes 12 | --data-file req.bin] [--header k:v ...] [--connections 1]
 *       [--concurrency 50] [--total 200 | --duration 10s] [--rps 0] [--skip-first 0]
 *       [--timeout 20s] [--details] [-o report.json]
 *
 * `--data-bytes N` sends a helloworld.HelloRequest whose name is N bytes (the
 * bench echo backend sends it back); `--data-file` sends a file's bytes as the
 * one message (no gRPC prefix in the file).
 */
import fs from 'node:fs';
import http2 from 'node:http2';
import { parseArgs } from 'node:util';
import { buildGhzReport, type CallSample, type GhzReport } from './ghz-report';

/** Go's codes.Code names, indexed by the numeric gRPC status. */
const GRPC_STATUS_NAMES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists',
  'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange',
  'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
] as const;

/** gRPC's HTTP-status → status mapping for responses without grpc-status (doc/http-grpc-status-mapping.md). */
function statusFromHttp(httpStatus: number): number {
  switch (httpStatus) {
    case 400: return 13;
    case 401: return 16;
    case 403: return 7;
    case 404: return 12;
    case 429: case 502: case 503: case 504: return 14;
    default: return 2;
  }
}

/** What to load and how. */
export interface LoadOptions {
  /** `host:port` of the server or proxy (h2c, prior knowledge). */
  readonly target: string;
  /** `package.Service/Method` or `/package.Service/Method`. */
  readonly call: string;
  /** The serialized request message (framed here). */
  readonly message: Buffer;
  /** Extra request headers (metadata). */
  readonly headers: Readonly<Record<string, string>>;
  readonly connections: number;
  /** Closed loop: callers in flight. Open loop: only reported (calls are not capped). */
  readonly concurrency: number;
  /** Stop after this many calls (including skipped ones); 0 = use durationMs. */
  readonly total: number;
  /** Stop issuing after this long; 0 = use total. */
  readonly durationMs: number;
  /** Open loop rate in calls/s in total; 0 = closed loop. */
  readonly rps: number;
  /** Leave the first N finished calls out of the report (warm-up). */
  readonly skipFirst: number;
  readonly timeoutMs: number;
  readonly details: boolean;
  /** Report name. */
  readonly name: string;
}

/** Frame one gRPC message: flag byte 0, 4-byte big-endian length, bytes. */
export function grpcFrame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** helloworld.HelloRequest{name: 'x' × n} (field 1, length-delimited), without protobufjs. */
export function helloRequest(nameBytes: number): Buffer {
  const varint: number[] = [];
  for (let v = nameBytes; ; v = Math.floor(v / 128)) {
    if (v < 128) {
      varint.push(v);
      break;
    }
    varint.push((v % 128) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...varint]), Buffer.alloc(nameBytes, 'x')]);
}

function connect(target: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    // Large windows, as h2load's defaults (-w30 -W30): flow control is not what we measure.
    const session = http2.connect(`http://${target}`, { settings: { initialWindowSize: 16 << 20, enablePush: false }, maxSessionMemory: 64 });
    session.once('error', reject);
    session.once('connect', () => {
      session.removeListener('error', reject);
      session.on('error', () => undefined);
      session.setLocalWindowSize(32 << 20);
      resolve(session);
    });
  });
}

/** Run the load and build the report. */
export async function runLoad(options: LoadOptions): Promise<GhzReport> {
  const path = options.call.startsWith('/') ? options.call : `/${options.call}`;
  const requestHeaders: http2.OutgoingHttpHeaders = {
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...options.headers,
  };
  const body = grpcFrame(options.message);
  const sessions = await Promise.all(Array.from({ length: Math.max(1, options.connections) }, () => connect(options.target)));

  const samples: CallSample[] = [];
  let finished = 0;
  let issued = 0;
  let measuredStart = 0n;
  let lastEnd = process.hrtime.bigint();
  const startedMs = Date.now();
  const runStart = process.hrtime.bigint();
  const deadline = options.durationMs > 0 ? runStart + BigInt(Math.round(options.durationMs * 1e6)) : undefined;
  const mayIssue = (): boolean =>
    (options.total <= 0 || issued < options.total) && (deadline === undefined || process.hrtime.bigint() < deadline);

  const oneCall = (session: http2.ClientHttp2Session, done: () => void): void => {
    issued++;
    const startMs = Date.now();
    const start = process.hrtime.bigint();
    let grpcStatus: number | undefined;
    let grpcMessage = '';
    let httpStatus = 0;
    let streamError = '';
    const request = session.request(requestHeaders, { endStream: false });
    request.setTimeout(options.timeoutMs, () => {
      streamError = 'deadline exceeded';
      grpcStatus = 4;
      request.close(http2.constants.NGHTTP2_CANCEL);
    });
    request.on('response', (headers) => {
      httpStatus = Number(headers[':status']);
      if (headers['grpc-status'] !== undefined) {
        grpcStatus = Number(headers['grpc-status']);
        grpcMessage = String(headers['grpc-message'] ?? '');
      }
    });
    request.on('trailers', (trailers) => {
      if (trailers['grpc-status'] !== undefined) {
        grpcStatus = Number(trailers['grpc-status']);
        grpcMessage = String(trailers['grpc-message'] ?? '');
      }
    });
    request.on('error', (err: Error) => {
      streamError ||= err.message;
    });
    request.on('close', () => {
      const end = process.hrtime.bigint();
      lastEnd = end;
      finished++;
      let code = grpcStatus;
      if (code === undefined) code = streamError !== '' || httpStatus === 0 ? 14 : httpStatus === 200 ? 13 : statusFromHttp(httpStatus);
      const status = GRPC_STATUS_NAMES[code] ?? 'Unknown';
      if (finished === options.skipFirst) measuredStart = end;
      if (finished > options.skipFirst) {
        const desc = code === 0 ? '' : grpcMessage || streamError || (grpcStatus === undefined ? `missing grpc-status (HTTP ${httpStatus})` : '');
        samples.push({ startMs, latencyNs: Number(end - start), status, error: code === 0 ? '' : `rpc error: code = ${status} desc = ${desc}` });
      }
      done();
    });
    request.resume();
    request.end(body);
  };

  await new Promise<void>((resolve) => {
    let inFlight = 0;
    const maybeFinish = (): void => {
      if (inFlight === 0 && !mayIssue()) resolve();
    };
    if (options.rps > 0) {
      // Open loop: every call due by now (start + i / rps) is issued at each tick.
      let next = 0;
      const tick = (): void => {
        const elapsedS = Number(process.hrtime.bigint() - runStart) / 1e9;
        const due = Math.floor(elapsedS * options.rps) + 1;
        while (issued < due && mayIssue()) {
          inFlight++;
          oneCall(sessions[next++ % sessions.length]!, () => {
            inFlight--;
            maybeFinish();
          });
        }
        if (mayIssue()) setTimeout(tick, 1);
        else maybeFinish();
      };
      tick();
      return;
    }
    // Closed loop: caller i stays on connection i mod N, as ghz splits workers.
    const caller = (index: number): void => {
      if (!mayIssue()) {
        maybeFinish();
        return;
      }
      inFlight++;
      oneCall(sessions[index % sessions.length]!, () => {
        inFlight--;
        caller(index);
      });
    };
    for (let i = 0; i < Math.max(1, options.concurrency); i++) caller(i);
  });

  for (const session of sessions) session.close();
  const measuredFrom = options.skipFirst > 0 && measuredStart !== 0n ? measuredStart : runStart;
  return buildGhzReport(samples, {
    name: options.name,
    endReason: 'normal',
    startedMs,
    totalNs: Number(lastEnd - measuredFrom),
    details: options.details,
    options: {
      call: options.call,
      host: options.target,
      insecure: true,
      rps: options.rps,
      concurrency: options.concurrency,
      total: options.total,
      connections: options.connections,
      duration: Math.round(options.durationMs * 1e6),
      timeout: Math.round(options.timeoutMs * 1e6),
      skipFirst: options.skipFirst,
      metadata: options.headers,
      dataBytes: options.message.length,
    },
  });
}

/** `10s`, `500ms`, `2m` or a bare number of seconds → ms. */
export function parseDurationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (m === null) throw new Error(`bad duration "${text}" (use e.g. 10s, 500ms, 2m)`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

function optionsFromArgv(argv: readonly string[]): { load: LoadOptions; output: string | undefined } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      target: { type: 'string' },
      call: { type: 'string', default: 'helloworld.Greeter/SayHello' },
      'data-bytes': { type: 'string', default: '12' },
      'data-file': { type: 'string' },
      header: { type: 'string', multiple: true, default: [] },
      connections: { type: 'string', default: '1' },
      concurrency: { type: 'string', short: 'c', default: '50' },
      total: { type: 'string', short: 'n', default: '0' },
      duration: { type: 'string', short: 'z', default: '0' },
      rps: { type: 'string', short: 'r', default: '0' },
      'skip-first': { type: 'string', default: '0' },
      timeout: { type: 'string', short: 't', default: '20s' },
      details: { type: 'boolean', default: false },
      name: { type: 'string', default: '' },
      output: { type: 'string', short: 'o' },
    },
  });
  if (values.target === undefined) throw new Error('--target host:port is required');
  const count = (name: string, text: string | undefined): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${text}"`);
    return n;
  };
  const headers: Record<string, string> = {};
  for (const h of values.header as string[]) {
    const at = h.indexOf(':');
    if (at <= 0) throw new Error(`--header must be name:value, got "${h}"`);
    headers[h.slice(0, at).trim().toLowerCase()] = h.slice(at + 1).trim();
  }
  const total = count('total', values.total);
  const durationMs = parseDurationMs(values.duration ?? '0');
  return {
    load: {
      target: values.target,
      call: values.call!,
      message: values['data-file'] !== undefined ? fs.readFileSync(values['data-file']) : helloRequest(count('data-bytes', values['data-bytes'])),
      headers,
      connections: Math.max(1, count('connections', values.connections)),
      concurrency: Math.max(1, count('concurrency', values.concurrency)),
      total: total === 0 && durationMs === 0 ? 200 : total,
      durationMs,
      rps: Number(values.rps) || 0,
      skipFirst: count('skip-first', values['skip-first']),
      timeoutMs: parseDurationMs(values.timeout ?? '20s'),
      details: values.details === true,
      name: values.name ?? '',
    },
    output: values.output,
  };
}

if (require.main === module) {
  let parsed: ReturnType<typeof optionsFromArgv>;
  try {
    parsed = optionsFromArgv(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`grpc-load: ${(err as Error).message}\n`);
    process.exit(2);
  }
  runLoad(parsed.load).then(
    (report) => {
      const text = JSON.stringify(report, null, 2) + '\n';
      if (parsed.output !== undefined) fs.writeFileSync(parsed.output, text);
      else process.stdout.write(text);
    },
    (err: Error) => {
      process.stderr.write(`grpc-load: ${err.message}\n`);
      process.exit(1);
    },
  );
}
