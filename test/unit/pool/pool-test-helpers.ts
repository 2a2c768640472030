/**
 * Real loopback peers and small awaitables for the pool tests. No mocks: every peer is a socket.
 */
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { Worker } from 'node:worker_threads';
import type { H2HostPool, PooledSessionInfo } from '../../../src/upstream/pool';

// === Node http2 server ===

export interface TestH2Server {
  readonly port: number;
  readonly server: http2.Http2Server;
  /** Server sessions currently open. */
  readonly sessions: Set<http2.ServerHttp2Session>;
  /** Server sessions accepted so far. */
  sessionsCreated(): number;
  close(): Promise<void>;
}

export type StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, session: http2.ServerHttp2Session) => void;

/** An h2c server on 127.0.0.1:0 (or on a Unix socket `path`). `close()` destroys its sessions. */
export async function startH2Server(onStream: StreamHandler, options: http2.ServerOptions = {}, path?: string): Promise<TestH2Server> {
  const server = http2.createServer(options);
  const sessions = new Set<http2.ServerHttp2Session>();
  let created = 0;
  server.on('session', (session) => {
    created++;
    sessions.add(session);
    session.on('error', () => {});
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    onStream(stream, headers, stream.session as http2.ServerHttp2Session);
  });
  await new Promise<void>((resolve) => {
    if (path !== undefined) server.listen(path, resolve);
    else server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    server,
    sessions,
    sessionsCreated: () => created,
    close: () => new Promise<void>((resolve) => {
      for (const session of sessions) session.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Replies 200 with the request body echoed back, ending the stream normally. */
export const echoHandler: StreamHandler = (stream) => {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => {
    if (stream.destroyed) return;
    stream.respond({ ':status': 200 });
    stream.end(Buffer.concat(chunks));
  });
};

// === talking to the pool ===

export interface Opened {
  readonly stream: http2.ClientHttp2Stream;
  readonly session: PooledSessionInfo;
  readonly reused: boolean;
}

/** `pool.request()` as a Promise: resolves with the stream, rejects with the PoolError. */
export function openStream(pool: H2HostPool, headers: http2.OutgoingHttpHeaders = { ':path': '/' }, options?: http2.ClientSessionRequestOptions): Promise<Opened> {
  return new Promise((resolve, reject) => {
    pool.request(headers, (err, stream, session, reused) => {
      if (err !== null) reject(err);
      else resolve({ stream: stream as http2.ClientHttp2Stream, session: session as PooledSessionInfo, reused });
    }, options);
  });
}

export interface Collected {
  status: number | undefined;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | undefined;
  error: (Error & { code?: string }) | undefined;
  rstCode: number | undefined;
  /** Stream events in order: response, trailers, end, aborted, error, close. */
  events: string[];
}

/** Reads a client stream to its 'close' and reports what was seen. Never rejects. */
export function collect(stream: http2.ClientHttp2Stream): Promise<Collected> {
  const out: Collected = { status: undefined, body: Buffer.alloc(0), trailers: undefined, error: undefined, rstCode: undefined, events: [] };
  const chunks: Buffer[] = [];
  stream.on('response', (headers) => {
    out.status = Number(headers[':status']);
    out.events.push('response');
  });
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('trailers', (trailers) => {
    out.trailers = trailers;
    out.events.push('trailers');
  });
  stream.on('end', () => out.events.push('end'));
  stream.on('aborted', () => out.events.push('aborted'));
  stream.on('error', (err) => {
    out.error = err;
    out.events.push('error');
  });
  return new Promise((resolve) => {
    stream.on('close', () => {
      out.events.push('close');
      out.body = Buffer.concat(chunks);
      out.rstCode = stream.rstCode;
      resolve(out);
    });
  });
}

/** Polls `predicate` every 5 ms; rejects after `timeoutMs` (a generous bound, not a measurement). */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when the pool has no sessions left. */
export function drained(pool: H2HostPool): Promise<void> {
  return new Promise((resolve) => pool.drain(resolve));
}

// === raw sockets ===

/** A port on 127.0.0.1 that was just free (connecting to it gets ECONNREFUSED). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts connections and never writes a byte (no HTTP/2 SETTINGS). */
export async function startSilentTcpServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

/**
 * A listening port whose TCP handshakes never complete, so `connect()` hangs until our timeout.
 *
 * How: a worker thread listens with backlog 1 and then blocks its event loop, so it never calls
 * accept(). We fill the kernel's accept queue with filler connections until one no longer
 * completes; from then on Linux drops new SYNs (tcp_abort_on_overflow = 0), which is exactly a
 * black-holed peer, on loopback and independent of the machine's routing. (A non-routable address
 * such as 10.255.255.1 is not reliable: on this machine it connects at once through the sandbox.)
 */
export async function startBlackholeServer(): Promise<{ port: number; close(): Promise<void> }> {
  const release = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(`
    const net = require('node:net');
    const { parentPort, workerData } = require('node:worker_threads');
    const server = net.createServer();
    server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
      parentPort.postMessage(server.address().port);
      Atomics.wait(workerData, 0, 0); // block the loop: never accept
      server.close();
    });`, { eval: true, workerData: release });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 16; i++) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    fillers.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 200);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!connected) break;
  }
  return {
    port,
    close: async () => {
      for (const socket of fillers) socket.destroy();
      Atomics.store(release, 0, 1);
      Atomics.notify(release, 0);
      await worker.terminate();
    },
  };
}

// === a raw HTTP/2 peer speaking frames we choose ===

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;

export interface RawFrame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

export function encodeFrame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fff_ffff, 5);
  return Buffer.concat([header, payload]);
}

/** HPACK for `:status: 200` (static table index 8). */
export const HPACK_STATUS_200 = Buffer.from([0x88]);

/** HPACK literal header field without indexing, new name (no Huffman). */
export function hpackLiteral(name: string, value: string): Buffer {
  if (name.length > 126 || value.length > 126) throw new Error('short strings only');
  return Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

export interface RawConnection {
  readonly socket: net.Socket;
  send(...frames: Buffer[]): void;
}

/**
 * A server that reads the client preface and frames, sends an empty SETTINGS, ACKs the client's
 * SETTINGS, and hands every frame to `onFrame`. It does not answer PINGs.
 */
export async function startRawH2Server(onFrame: (conn: RawConnection, frame: RawFrame) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    const conn: RawConnection = { socket, send: (...frames) => { if (!socket.destroyed) socket.write(Buffer.concat(frames)); } };
    conn.send(encodeFrame(FRAME.SETTINGS, 0, 0));
    let buffered = Buffer.alloc(0);
    let prefaceSeen = false;
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!prefaceSeen) {
        if (buffered.length < 24) return;
        buffered = buffered.subarray(24);
        prefaceSeen = true;
      }
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) return;
        const frame: RawFrame = {
          type: buffered[3] as number,
          flags: buffered[4] as number,
          streamId: buffered.readUInt32BE(5) & 0x7fff_ffff,
          payload: buffered.subarray(9, 9 + length),
        };
        buffered = buffered.subarray(9 + length);
        if (frame.type === FRAME.SETTINGS && (frame.flags & FLAG.ACK) === 0) conn.send(encodeFrame(FRAME.SETTINGS, FLAG.ACK, 0));
        onFrame(conn, frame);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
