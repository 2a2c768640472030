/**
 * The TCP health checker's probe (source/extensions/health_checkers/tcp/health_checker_impl.cc).
 * Without `receive` payloads a check is a connect: success as soon as the connection is up,
 * which is then closed. With them, `send` is written and the check succeeds once every
 * `receive` block has arrived in order; a connection closed or refused first is a NETWORK failure.
 */
import net from 'node:net';
import type { SocketAddress } from '../snapshot/model';
import { containsInOrder } from './payload-match';
import type { CheckOutcome, Prober } from './types';

export class TcpProber implements Prober {
  private socket: net.Socket | undefined;
  private buffered = Buffer.alloc(0);
  private done: ((o: CheckOutcome) => void) | undefined;

  constructor(private readonly address: SocketAddress, private readonly send: Buffer, private readonly receive: readonly Buffer[]) {}

  check(done: (outcome: CheckOutcome) => void): void {
    this.done = done;
    if (this.socket && !this.socket.destroyed && !this.socket.connecting) {
      if (this.send.length) this.socket.write(this.send);
      return;
    }
    const a = this.address;
    const socket = a.kind === 'tcp' ? net.connect(a.port, a.host) : net.connect(a.path);
    socket.unref();
    this.socket = socket;
    this.buffered = Buffer.alloc(0);
    socket.on('connect', () => {
      if (this.receive.length === 0) {
        // A connect-only check: succeed and close (Envoy closes it too).
        this.socket = undefined;
        socket.destroy();
        this.finish({ healthy: true, degraded: false });
        return;
      }
      if (this.send.length) socket.write(this.send);
    });
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      if (this.done && containsInOrder(this.buffered, this.receive)) {
        this.buffered = Buffer.alloc(0);
        this.finish({ healthy: true, degraded: false });
      }
    });
    socket.on('error', (err) => this.fail(socket, (err as NodeJS.ErrnoException).code ?? err.message));
    socket.on('close', () => this.fail(socket, 'connection closed'));
  }

  abort(): void {
    this.done = undefined;
    this.close();
  }

  close(): void {
    const s = this.socket;
    this.socket = undefined;
    s?.destroy();
  }

  private fail(socket: net.Socket, detail: string): void {
    if (this.socket === socket) this.socket = undefined;
    this.finish({ healthy: false, type: 'NETWORK', retriable: false, detail });
  }

  private finish(o: CheckOutcome): void {
    const done = this.done;
    this.done = undefined;
    done?.(o);
  }
}
