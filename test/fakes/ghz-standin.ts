/**
 * A stand-in for the `ghz` executable, for tests of the benchmark's ghz phase on machines where
 * ghz cannot be installed (it is a Go binary with no Debian or npm package, and only those two
 * registries are reachable here). It takes ghz's command line as ghz documents it
 * (ghz.sh/docs/options) and refuses anything else, reads the method from the `--proto` file as
 * ghz does (a unary method answered with more than one message fails the call, as in ghz),
 * encodes `--data`/`--data-file` JSON with the request type, and makes the calls for real with
 * our load generator (bench/load/grpc-load.ts), which writes ghz's JSON report.
 *
 *   node dist/test/fakes/ghz-standin.js --insecure --proto P --call pkg.Service.Method
 *       [-d JSON | -D file] [-m JSON] [--connections N] [-c C] [-n N | -z 5s] [-r RPS]
 *       [-t 20s] [--name X] [-O json] [-o out.json] host:port
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type * as protobufTypes from 'protobufjs';
import { parseDurationMs, runLoad } from '../../bench/load/grpc-load';

export const STANDIN_VERSION = '0.0.0-legate-standin';

const protobuf = require('protobufjs') as typeof protobufTypes;

interface Resolved {
  readonly path: string;
  readonly requestType: protobufTypes.Type;
  readonly serverStreaming: boolean;
}

/** `pkg.Service.Method` or `pkg.Service/Method`, looked up in the proto, as ghz resolves `--call`. */
export function resolveCall(protoFile: string, call: string): Resolved {
  const root = protobuf.loadSync(protoFile);
  const slash = call.lastIndexOf('/');
  const dot = call.lastIndexOf('.');
  const cut = slash >= 0 ? slash : dot;
  if (cut <= 0) throw new Error(`--call ${call}: expected package.Service.Method or package.Service/Method`);
  const serviceName = call.slice(0, cut);
  const methodName = call.slice(cut + 1);
  const service = root.lookupService(serviceName);
  const method = service.methods[methodName];
  if (method === undefined) throw new Error(`--call ${call}: service ${serviceName} in ${protoFile} has no method ${methodName}`);
  if (method.requestStream === true) throw new Error(`--call ${call}: client streaming is not what this stand-in makes`);
  return {
    path: `/${serviceName}/${methodName}`,
    requestType: root.lookupType(method.resolvedRequestType?.fullName ?? method.requestType),
    serverStreaming: method.responseStream === true,
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      version: { type: 'boolean', short: 'v', default: false },
      insecure: { type: 'boolean', default: false },
      proto: { type: 'string' },
      call: { type: 'string' },
      data: { type: 'string', short: 'd' },
      'data-file': { type: 'string', short: 'D' },
      metadata: { type: 'string', short: 'm' },
      connections: { type: 'string', default: '1' },
      concurrency: { type: 'string', short: 'c', default: '50' },
      total: { type: 'string', short: 'n', default: '200' },
      duration: { type: 'string', short: 'z' },
      rps: { type: 'string', short: 'r', default: '0' },
      timeout: { type: 'string', short: 't', default: '20s' },
      name: { type: 'string', default: '' },
      format: { type: 'string', short: 'O' },
      output: { type: 'string', short: 'o' },
    },
  });
  if (values.version === true) {
    process.stdout.write(`${STANDIN_VERSION}\n`);
    return;
  }
  if (values.insecure !== true) throw new Error('only --insecure (plaintext) connections are made by this stand-in');
  if (values.proto === undefined || values.call === undefined) throw new Error('--proto and --call are required');
  if (positionals.length !== 1) throw new Error(`expected one host:port, got ${JSON.stringify(positionals)}`);
  if (values.format !== undefined && values.format !== 'json') throw new Error(`--format ${values.format}: only json is made by this stand-in`);
  const method = resolveCall(values.proto, values.call);
  const dataText = values['data-file'] !== undefined ? fs.readFileSync(values['data-file'], 'utf8') : (values.data ?? '{}');
  const data = JSON.parse(dataText) as Record<string, unknown>;
  const invalid = method.requestType.verify(data);
  if (invalid !== null) throw new Error(`data: ${invalid}`);
  const message = Buffer.from(method.requestType.encode(method.requestType.fromObject(data)).finish());
  const headers = values.metadata !== undefined ? (JSON.parse(values.metadata) as Record<string, string>) : {};
  if (!method.serverStreaming && Number(headers['bench-stream-messages'] ?? 1) > 1) {
    // What ghz would run into: grpc-go fails a unary call that receives a second message.
    throw new Error(`--call ${values.call} is unary, but bench-stream-messages asks the backend for ${headers['bench-stream-messages']} messages`);
  }
  const connections = Number(values.connections);
  const concurrency = Number(values.concurrency);
  if (!(connections >= 1 && concurrency >= connections)) throw new Error(`--connections ${values.connections} must be at least 1 and at most --concurrency ${values.concurrency}`);
  const durationMs = values.duration !== undefined ? parseDurationMs(values.duration) : 0;
  const report = await runLoad({
    target: positionals[0]!,
    call: method.path,
    message,
    headers,
    connections,
    concurrency,
    total: durationMs > 0 ? 0 : Number(values.total),
    durationMs,
    rps: Number(values.rps),
    skipFirst: 0,
    timeoutMs: parseDurationMs(values.timeout ?? '20s'),
    details: false,
    name: values.name ?? '',
  });
  const text = JSON.stringify(report) + '\n';
  if (values.output !== undefined) fs.writeFileSync(values.output, text);
  else process.stdout.write(text);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`ghz stand-in: ${err.message}\n`);
    process.exit(1);
  });
}
