/**
 * The floor of any proxy written on Node: a TCP relay that copies bytes between each client
 * connection and a connection of its own to the backend, parsing nothing (no HTTP/2, no
 * routing, no balancing; one upstream connection per client connection). It is path
 * `node-relay` of the side-by-side benchmark (opt-in): what Node's socket reads, writes and
 * event loop cost per call, so that Legate's CPU per call can be split into Node's share and
 * Legate's own.
 *
 *   node dist/bench/servers/tcp-relay.js --target-port N [--port 0] [--host 127.0.0.1]
 *
 * Prints one JSON line `{"port":N}` on stdout when listening.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';

/** Start relaying `host:port` → `host:targetPort`; resolves with the bound port. */
export function startTcpRelay(targetPort: number, port = 0, host = '127.0.0.1'): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer({ noDelay: true }, (client) => {
    const upstream = net.connect({ host, port: targetPort, noDelay: true });
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve({ port: (server.address() as net.AddressInfo).port, server }));
  });
}

if (require.main === module) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' }, 'target-port': { type: 'string' } } });
  const target = Number(values['target-port']);
  if (!Number.isInteger(target) || target <= 0) {
    process.stderr.write('tcp-relay: --target-port N is required\n');
    process.exit(2);
  }
  startTcpRelay(target, Number(values.port), values.host).then(
    ({ port }) => process.stdout.write(`${JSON.stringify({ port })}\n`),
    (err: Error) => {
      process.stderr.write(`tcp-relay: ${err.message}\n`);
      process.exit(1);
    },
  );
}
