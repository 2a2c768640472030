/**
 * Finding a TCP port nobody listens on, for configs that need a fixed port
 * (Legate's admin and listeners are written into a bootstrap before it starts).
 */
import net from 'node:net';

/** Ports this process has handed out: the kernel may offer a just-closed port again at once. */
const handedOut = new Set<number>();

/**
 * Bind port 0 on `host` (default `'127.0.0.1'`), read the port the kernel chose,
 * close, and return it; never the same port twice in one process (a test asking for an
 * admin port and a listener port before binding either got the same one back). Another
 * process could still take it before you do; that is rare.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (;;) {
    const port = await kernelPort(host);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolve whether something accepts TCP connections on `host:port` (within `timeoutMs`, default 500). */
export function isPortInUse(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (inUse: boolean): void => {
      socket.destroy();
      resolve(inUse);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
