/**
 * A node:http HTTP/1.1 server that answers every request with a JSON echo of what
 * it received, for routes and clusters that speak HTTP/1.1 (Triple's HTTP/1 unary
 * flavour, health endpoints, plain web apps in a mesh).
 *
 * Reply: status 200 (or the number in request header `x-h1-status`), content-type
 * application/json, header `x-backend-name`, body {@link H1EchoBody}.
 */
import http from 'node:http';
import type net from 'node:net';
import { hostPort, listenOn } from './listen';

/** The JSON body of every reply. */
export interface H1EchoBody {
  /** The backend's name. */
  readonly backend: string;
  readonly method: string;
  /** Request target as sent (path and query). */
  readonly path: string;
  /** e.g. `'1.1'`. */
  readonly httpVersion: string;
  /** Request headers, lower-case names (node's `req.headers`). */
  readonly headers: http.IncomingHttpHeaders;
  /** Request body decoded as UTF-8. */
  readonly body: string;
}

/** Options of {@link startH1Backend}. */
export interface H1BackendOptions {
  /** Default `'h1'`. */
  readonly name?: string;
  /** Default 0. */
  readonly port?: number;
  /** Default `'127.0.0.1'`. */
  readonly host?: string;
}

/** A running HTTP/1.1 echo backend. */
export interface H1Backend {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `host:port`. */
  readonly address: string;
  /** `http://host:port`. */
  readonly url: string;
  /** Requests answered. */
  readonly requests: number;
  /** TCP connections accepted. */
  readonly connections: number;
  /** What the last request looked like (same as its reply body). */
  readonly lastRequest: H1EchoBody | undefined;
  /** Graceful close (idle keep-alive connections are closed, busy ones finish). */
  stop(): Promise<void>;
  /** Destroy every connection now and stop listening. */
  kill(): void;
}

/** Start an HTTP/1.1 echo backend; resolves once it is listening. */
export async function startH1Backend(options: H1BackendOptions = {}): Promise<H1Backend> {
  const name = options.name ?? 'h1';
  const host = options.host ?? '127.0.0.1';
  let requests = 0;
  let connections = 0;
  let lastRequest: H1EchoBody | undefined;
  const sockets = new Set<net.Socket>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests++;
      lastRequest = {
        backend: name,
        method: req.method ?? '',
        path: req.url ?? '',
        httpVersion: req.httpVersion,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const status = Number(req.headers['x-h1-status'] ?? 200);
      const body = JSON.stringify(lastRequest);
      res.writeHead(Number.isInteger(status) && status >= 100 && status <= 599 ? status : 200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-backend-name': name,
      });
      res.end(body);
    });
  });
  server.on('connection', (socket: net.Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listenOn(server, options.port ?? 0, host);

  return {
    name,
    host,
    port,
    address: hostPort(host, port),
    url: `http://${hostPort(host, port)}`,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    get lastRequest() {
      return lastRequest;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
    kill: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
