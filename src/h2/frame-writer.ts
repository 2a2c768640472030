/**
 * Outgoing bytes of one connection, batched: frames queued during an event-loop iteration are
 * written to the socket once, after the iteration's I/O callbacks (setImmediate), as one corked
 * write. So the requests read from many client connections in one poll phase leave for the
 * upstream in one write (one syscall, one trip through loopback TCP), not one per connection.
 * Small frames (headers, control frames, frame headers) are copied into a slab; large DATA
 * payloads travel as their own buffers, never copied.
 */
import type { Socket } from 'node:net';
import { FRAME_HEADER_LENGTH, FrameType, writeFrameHeader } from './frames';

const SLAB_SIZE = 16 * 1024;
/** Payloads at least this long are written as their own buffer instead of copied. */
const COPY_LIMIT = 1024;
/** Payloads up to this long are copied into the slab by a loop. */
const SMALL_COPY = 128;

let dirty: FrameWriter[] = [];
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  const writers = dirty;
  dirty = [];
  for (const w of writers) w.flush();
}

export class FrameWriter {
  private slab = Buffer.allocUnsafe(SLAB_SIZE);
  /** Start of the bytes in `slab` not yet handed to `chunks`. */
  private slabStart = 0;
  private slabPos = 0;
  private chunks: Buffer[] = [];
  private scheduled = false;
  /** Bytes queued and not yet written to the socket (for the caller's limits). */
  queuedBytes = 0;

  constructor(private readonly socket: Socket) {}

  /** Queues a frame whose payload is `payload[start, end)`. */
  frame(type: FrameType, flags: number, streamId: number, payload: Buffer | undefined, start = 0, end = payload ? payload.length : 0): void {
    const length = end - start;
    if (length >= COPY_LIMIT) {
      this.reserve(FRAME_HEADER_LENGTH);
      writeFrameHeader(this.slab, this.slabPos, length, type, flags, streamId);
      this.slabPos += FRAME_HEADER_LENGTH;
      this.cutSlab();
      this.chunks.push(start === 0 && end === payload!.length ? payload! : payload!.subarray(start, end));
    } else {
      this.reserve(FRAME_HEADER_LENGTH + length);
      writeFrameHeader(this.slab, this.slabPos, length, type, flags, streamId);
      this.slabPos += FRAME_HEADER_LENGTH;
      if (length > SMALL_COPY) {
        this.slabPos += payload!.copy(this.slab, this.slabPos, start, end);
      } else if (length > 0) {
        // Byte by byte: Buffer#copy of part of a buffer makes a view object for it on every call.
        const slab = this.slab;
        let at = this.slabPos;
        for (let i = start; i < end; i++) slab[at++] = payload![i]!;
        this.slabPos = at;
      }
    }
    this.queuedBytes += FRAME_HEADER_LENGTH + length;
    this.schedule();
  }

  /** Queues raw bytes (the client connection preface). */
  raw(bytes: Buffer): void {
    this.reserve(bytes.length);
    this.slabPos += bytes.copy(this.slab, this.slabPos);
    this.queuedBytes += bytes.length;
    this.schedule();
  }

  /** Room for `n` bytes in the slab; a fresh slab when the current one is full. */
  private reserve(n: number): void {
    if (this.slabPos + n <= this.slab.length) return;
    this.cutSlab();
    this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, n));
    this.slabStart = 0;
    this.slabPos = 0;
  }

  private cutSlab(): void {
    if (this.slabPos > this.slabStart) {
      this.chunks.push(this.slab.subarray(this.slabStart, this.slabPos));
      this.slabStart = this.slabPos;
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    dirty.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushAll);
    }
  }

  /** Writes everything queued now (normally called once per event-loop iteration). */
  flush(): void {
    this.scheduled = false;
    this.cutSlab();
    const chunks = this.chunks;
    if (chunks.length === 0) return;
    this.chunks = [];
    this.queuedBytes = 0;
    // The slab's cut part now belongs to the socket and is never overwritten; start a fresh
    // slab once little room is left.
    if (this.slabStart > SLAB_SIZE / 2) {
      this.slab = Buffer.allocUnsafe(SLAB_SIZE);
      this.slabStart = 0;
      this.slabPos = 0;
    }
    const socket = this.socket;
    if (socket.destroyed) return;
    if (chunks.length === 1) {
      socket.write(chunks[0]!);
      return;
    }
    socket.cork();
    for (const c of chunks) socket.write(c);
    socket.uncork();
  }
}
