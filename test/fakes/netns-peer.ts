/**
 * A peer process for tests that run inside network namespaces (`ip netns exec <ns> node
 * dist/test/fakes/netns-peer.js <mode> ...`): Node cannot switch namespaces, so every party of
 * such a test is its own process. Servers print `READY` once listening and run until killed;
 * clients print one JSON line with what they saw and exit.
 *
 *   grpc-server <name> <host> <port>    Echo backend answering as <name>
 *   tcp-echo <host> <port>              echoes bytes; answers a half-close with its own
 *   tcp-whoami <host> <port>            answers the first bytes with "<peer ip>:<peer port>" and closes
 *   grpc-calls <target> <n> [authority] n unary Echo calls on one channel → [{backend, peer}]
 *   tcp-send <host> <port> <bytes>      sends <bytes> random bytes, half-closes → {sentSha, gotSha, got}
 *   tcp-ask <host> <port>               sends a line, half-closes → {text} (what came back)
 *   http-get <url>                      → {status, body}
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { startGrpcBackend } from './grpc-backend';
import { createEchoClient } from './grpc-client';

async function main(argv: string[]): Promise<void> {
  const [mode, ...args] = argv;
  switch (mode) {
    case 'grpc-server': {
      await startGrpcBackend({ name: args[0]!, services: ['echo'], host: args[1]!, port: Number(args[2]) });
      process.stdout.write('READY\n');
      return;
    }
    case 'tcp-echo': {
      const server = net.createServer({ allowHalfOpen: true }, (s) => {
        s.on('error', () => undefined);
        s.pipe(s);
      });
      server.listen(Number(args[1]), args[0], () => process.stdout.write('READY\n'));
      return;
    }
    case 'tcp-whoami': {
      const server = net.createServer({ allowHalfOpen: true }, (s) => {
        s.on('error', () => undefined);
        s.once('data', () => s.end(`${s.remoteAddress}:${s.remotePort}`));
      });
      server.listen(Number(args[1]), args[0], () => process.stdout.write('READY\n'));
      return;
    }
    case 'tcp-ask': {
      const text = await new Promise<string>((resolve, reject) => {
        let got = '';
        const s = net.connect({ host: args[0]!, port: Number(args[1]), allowHalfOpen: true }, () => s.end('who am I talking to?\n'));
        s.setEncoding('utf8');
        s.on('data', (c: string) => (got += c));
        s.on('end', () => resolve(got));
        s.on('error', reject);
        setTimeout(() => reject(new Error('tcp-ask timed out')), 10_000).unref();
      });
      process.stdout.write(`${JSON.stringify({ text })}\n`);
      return;
    }
    case 'grpc-calls': {
      const authority = args[2];
      const client = createEchoClient(args[0]!, authority ? { channelOptions: { 'grpc.default_authority': authority } } : {});
      const out: { backend: string; peer: string }[] = [];
      for (let i = 0; i < Number(args[1]); i++) {
        const r = await client.unary({}, { deadlineMs: 5000 });
        out.push({ backend: r.response.backend, peer: r.response.peer });
      }
      client.close();
      process.stdout.write(`${JSON.stringify(out)}\n`);
      return;
    }
    case 'tcp-send': {
      const payload = randomBytes(Number(args[2]));
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        const s = net.connect({ host: args[0]!, port: Number(args[1]), allowHalfOpen: true }, () => s.end(payload));
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('end', () => resolve());
        s.on('error', reject);
        setTimeout(() => reject(new Error('tcp-send timed out')), 10_000).unref();
      });
      const got = Buffer.concat(chunks);
      const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
      process.stdout.write(`${JSON.stringify({ sentSha: sha(payload), gotSha: sha(got), got: got.length })}\n`);
      return;
    }
    case 'http-get': {
      const body = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        http.get(args[0]!, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        }).on('error', reject);
      });
      process.stdout.write(`${JSON.stringify(body)}\n`);
      return;
    }
    default:
      throw new Error(`unknown mode ${String(mode)}`);
  }
}

main(process.argv.slice(2)).then(
  () => {
    if (!['grpc-server', 'tcp-echo', 'tcp-whoami'].includes(process.argv[2] ?? '')) process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
