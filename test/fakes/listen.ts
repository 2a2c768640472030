/**
 * Binding helpers shared by the fake servers.
 */
import type net from 'node:net';

/**
 * Start `server` listening on `host:port` (port 0 = any free port) and resolve
 * with the port actually bound. Rejects with a message naming the address when
 * binding fails (e.g. EADDRINUSE on a fixed port).
 */
export function listenOn(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new Error(`cannot listen on ${hostPort(host, port)}: ${err.code ?? err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.removeListener('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/** `host:port`, with IPv6 literals bracketed (`[::1]:8080`). */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
