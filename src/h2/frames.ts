/** HTTP/2 frame types, flags, settings and error codes (RFC 9113 §6, §7, §11). */

export const FRAME_HEADER_LENGTH = 9;
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const enum FrameType {
  DATA = 0x0,
  HEADERS = 0x1,
  PRIORITY = 0x2,
  RST_STREAM = 0x3,
  SETTINGS = 0x4,
  PUSH_PROMISE = 0x5,
  PING = 0x6,
  GOAWAY = 0x7,
  WINDOW_UPDATE = 0x8,
  CONTINUATION = 0x9,
}

export const enum Flag {
  END_STREAM = 0x1,
  ACK = 0x1,
  END_HEADERS = 0x4,
  PADDED = 0x8,
  PRIORITY = 0x20,
}

export const enum Setting {
  HEADER_TABLE_SIZE = 0x1,
  ENABLE_PUSH = 0x2,
  MAX_CONCURRENT_STREAMS = 0x3,
  INITIAL_WINDOW_SIZE = 0x4,
  MAX_FRAME_SIZE = 0x5,
  MAX_HEADER_LIST_SIZE = 0x6,
  ENABLE_CONNECT_PROTOCOL = 0x8,
}

export const enum ErrorCode {
  NO_ERROR = 0x0,
  PROTOCOL_ERROR = 0x1,
  INTERNAL_ERROR = 0x2,
  FLOW_CONTROL_ERROR = 0x3,
  SETTINGS_TIMEOUT = 0x4,
  STREAM_CLOSED = 0x5,
  FRAME_SIZE_ERROR = 0x6,
  REFUSED_STREAM = 0x7,
  CANCEL = 0x8,
  COMPRESSION_ERROR = 0x9,
  CONNECT_ERROR = 0xa,
  ENHANCE_YOUR_CALM = 0xb,
  INADEQUATE_SECURITY = 0xc,
  HTTP_1_1_REQUIRED = 0xd,
}

export const DEFAULT_WINDOW = 65535;
export const MAX_WINDOW = 0x7fffffff;
export const DEFAULT_MAX_FRAME_SIZE = 16384;
export const MAX_FRAME_SIZE_LIMIT = 16777215;

/** A connection error: GOAWAY with `code`, then close (RFC 9113 §5.4.1). */
export class ConnectionError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

/** Writes a 9-octet frame header into `buf` at `pos`. */
export function writeFrameHeader(buf: Buffer, pos: number, length: number, type: FrameType, flags: number, streamId: number): void {
  buf[pos] = length >>> 16;
  buf[pos + 1] = (length >>> 8) & 0xff;
  buf[pos + 2] = length & 0xff;
  buf[pos + 3] = type;
  buf[pos + 4] = flags;
  buf.writeUInt32BE(streamId, pos + 5);
}
