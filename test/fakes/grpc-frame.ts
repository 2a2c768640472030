/**
 * gRPC length-prefixed message framing (gRPC over HTTP/2, "Length-Prefixed-Message"):
 * 1 byte compressed flag, 4 bytes big-endian message length, then the message.
 */

/** Size of the prefix in front of every gRPC message. */
export const GRPC_FRAME_HEADER_BYTES = 5;

/** One message taken out of a gRPC body. */
export interface GrpcFrame {
  /** The compressed-flag byte was 1 (we never decompress; the bytes are as sent). */
  readonly compressed: boolean;
  /** The message bytes, without the prefix. */
  readonly message: Buffer;
}

/** Prefix `message` with the 5-byte gRPC header (`compressed` sets the flag byte, default false). */
export function frameMessage(message: Uint8Array, compressed = false): Buffer {
  const out = Buffer.allocUnsafe(GRPC_FRAME_HEADER_BYTES + message.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, GRPC_FRAME_HEADER_BYTES);
  return out;
}

/**
 * Split a complete gRPC body into its messages. Throws when the body ends inside
 * a frame (use {@link GrpcFrameDecoder} for bodies that arrive in pieces).
 */
export function unframeMessages(body: Uint8Array): GrpcFrame[] {
  const decoder = new GrpcFrameDecoder();
  const frames = decoder.push(body);
  if (decoder.pendingBytes !== 0) {
    throw new Error(`truncated gRPC body: ${decoder.pendingBytes} bytes of an unfinished frame`);
  }
  return frames;
}

/**
 * Incremental decoder: feed it DATA chunks as they arrive, get back every frame
 * they complete. Frames may span chunks and chunks may hold several frames.
 */
export class GrpcFrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  /** Bytes received that do not yet form a whole frame; 0 between frames. */
  get pendingBytes(): number {
    return this.buffered.length;
  }

  /** Add a chunk; returns the frames completed by it, in order (often none). */
  push(chunk: Uint8Array): GrpcFrame[] {
    this.buffered = this.buffered.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffered, chunk]);
    const frames: GrpcFrame[] = [];
    let offset = 0;
    while (this.buffered.length - offset >= GRPC_FRAME_HEADER_BYTES) {
      const length = this.buffered.readUInt32BE(offset + 1);
      const end = offset + GRPC_FRAME_HEADER_BYTES + length;
      if (end > this.buffered.length) break;
      frames.push({
        compressed: this.buffered[offset] === 1,
        message: this.buffered.subarray(offset + GRPC_FRAME_HEADER_BYTES, end),
      });
      offset = end;
    }
    this.buffered = this.buffered.subarray(offset);
    return frames;
  }
}

/**
 * grpc-message encoding (gRPC over HTTP/2, "Status-Message"): UTF-8, then every
 * byte outside printable ASCII 0x20–0x7E, and '%' itself, as %XX.
 */
export function percentEncodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
