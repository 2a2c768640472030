import type { Socket } from 'node:net';

/** The HTTP/2 connection preface a prior-knowledge (h2c) client sends first (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * Reads just enough of a new connection to tell HTTP/2 prior knowledge from
 * HTTP/1.1 (codec_type AUTO), then puts the bytes back for the real codec.
 * Decides as soon as the first bytes differ from the preface, so an HTTP/1.1
 * request is never delayed waiting for 24 bytes.
 */
export function sniffCodec(socket: Socket, timeoutMs: number, cb: (codec: 'h2' | 'h1' | 'closed') => void): void {
  let buf: Buffer = Buffer.alloc(0);
  let decided = false;
  const finish = (codec: 'h2' | 'h1' | 'closed'): void => {
    if (decided) return;
    decided = true;
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('close', onClose);
    socket.removeListener('error', onClose);
    if (codec !== 'closed') {
      socket.pause();
      if (buf.length) socket.unshift(buf);
    }
    cb(codec);
  };
  const onData = (chunk: Buffer): void => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    const n = Math.min(buf.length, PREFACE.length);
    if (buf.compare(PREFACE, 0, n, 0, n) !== 0) finish('h1');
    else if (n === PREFACE.length) finish('h2');
  };
  const onClose = (): void => finish('closed');
  // A client that connects and says nothing is handed to HTTP/1.1, which applies its own timeouts.
  const timer = setTimeout(() => finish(buf.length ? 'h1' : 'h1'), timeoutMs);
  timer.unref();
  socket.on('data', onData);
  socket.once('close', onClose);
  socket.once('error', onClose);
}
