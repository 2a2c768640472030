/**
 * The benchmark's upstream: the leanest gRPC-unary responder node:http2 allows.
 * It sends every request body straight back (already gRPC-framed, and for
 * helloworld.HelloRequest the bytes are a valid HelloReply), then trailers with
 * `grpc-status: 0`. No protobuf, no grpc-js: the backend should cost as little as
 * possible so the numbers measure the path in front of it.
 *
 * Run as its own process (so its CPU is not billed to anyone else):
 *   node dist/bench/servers/h2-grpc-echo.js [--port 0] [--host 127.0.0.1]
 * A request with the header `bench-stream-messages: N` gets its message back N
 * times (server streaming, each copy one DATA write), then the trailers.
 *
 * It prints one JSON line `{"port":N}` on stdout when listening. When started with
 * an IPC channel it answers the message `'stats'` with `{ requests }`.
 */
import http2 from 'node:http2';
import { parseArgs } from 'node:util';

/** A running echo server. */
export interface H2GrpcEcho {
  /** Bound port. */
  readonly port: number;
  /** Requests answered so far. */
  readonly requests: number;
  /** Stop listening and drop connections. */
  close(): Promise<void>;
}

const RESPONSE_HEADERS = { ':status': 200, 'content-type': 'application/grpc' } as const;
const TRAILERS = { 'grpc-status': '0' } as const;

/** Start the echo server on `host:port` (port 0 = any free port). */
export function startH2GrpcEcho(port = 0, host = '127.0.0.1'): Promise<H2GrpcEcho> {
  let requests = 0;
  // maxSessionMemory (MB) well above Node's 10: a proxy multiplexes every client's calls onto
  // one or a few sessions here, and 64 KiB calls backed up on one session must not be refused
  // by the backend's own memory guard (which would show up as the proxy's errors).
  const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 }, maxSessionMemory: 256 });
  server.on('stream', (stream, headers) => {
    const copies = Number(headers['bench-stream-messages'] ?? 1);
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', () => undefined);
    stream.on('end', () => {
      if (stream.destroyed) return;
      requests++;
      stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers(TRAILERS));
      const message = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      for (let i = 1; i < copies; i++) stream.write(message);
      stream.end(message);
    });
  });
  server.on('sessionError', () => undefined);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address !== null ? address.port : port,
        get requests() {
          return requests;
        },
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

if (require.main === module) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } });
  startH2GrpcEcho(Number(values.port), values.host).then(
    (echo) => {
      process.stdout.write(`${JSON.stringify({ port: echo.port })}\n`);
      process.on('message', (message) => {
        if (message === 'stats') process.send?.({ requests: echo.requests });
      });
      process.on('disconnect', () => process.exit(0));
      process.on('SIGTERM', () => process.exit(0));
    },
    (err: Error) => {
      process.stderr.write(`h2-grpc-echo: ${err.message}\n`);
      process.exit(1);
    },
  );
}
