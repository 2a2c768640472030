import type { OutgoingHttpHeaders } from 'node:http2';
import type { Downstream } from './downstream';
import { encodeGrpcMessage, httpToGrpcStatus } from './grpc';
import type { ResponseFlag } from './response-flags';
import type { StreamInfo } from './stream-info';

/** A response the proxy makes itself, as Envoy's sendLocalReply does. */
export interface LocalReply {
  readonly status: number;
  /** Body text for HTTP clients; grpc-message for gRPC clients. */
  readonly body: string;
  readonly flag: ResponseFlag | undefined;
  /** %RESPONSE_CODE_DETAILS% value. */
  readonly details: string;
  /** Overrides the gRPC status derived from `status`. */
  readonly grpcStatus?: number;
}

/**
 * Sends a local reply. gRPC requests always get a gRPC-shaped answer: HTTP 200,
 * trailers-only, with grpc-status and a percent-encoded grpc-message.
 */
export function sendLocalReply(
  ds: Downstream, info: StreamInfo, reply: LocalReply, grpc: boolean, serverName: string,
  /** Added headers and the HTTP filters' encodeHeaders, run on the headers before they are sent. */
  encode?: (headers: OutgoingHttpHeaders) => void,
): void {
  if (reply.flag) info.setFlag(reply.flag);
  info.responseCodeDetails = reply.details;
  if (ds.closed) return;
  if (ds.headersSent) {
    // Too late for a status: the client sees the stream reset.
    ds.reset(0x2 /* INTERNAL_ERROR */);
    return;
  }
  let headers: OutgoingHttpHeaders;
  if (grpc) {
    const code = reply.grpcStatus ?? httpToGrpcStatus(reply.status);
    headers = {
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': String(code),
      'grpc-message': encodeGrpcMessage(reply.body),
      server: serverName,
    };
    encode?.(headers);
    info.grpcStatus = code;
    info.responseCode = 200;
    info.responseHeaders = headers;
    ds.respond(headers, true, false);
    return;
  }
  const body = Buffer.from(reply.body);
  headers = { ':status': reply.status, server: serverName };
  if (body.length) {
    headers['content-type'] = 'text/plain';
    headers['content-length'] = body.length;
  }
  encode?.(headers);
  info.responseCode = reply.status;
  info.responseHeaders = headers;
  if (body.length === 0) {
    ds.respond(headers, true, false);
    return;
  }
  ds.respond(headers, false, false);
  ds.write(body);
  info.bytesSent += body.length;
  ds.end(undefined);
}
