/**
 * The gRPC health checker's probe: `grpc.health.v1.Health/Check` over HTTP/2 to the host
 * (source/extensions/health_checkers/grpc/health_checker_impl.cc). Only grpc-status 0 with
 * `SERVING` is healthy; any other answer (NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN, an unknown enum
 * value, a non-zero grpc-status, a non-200 or non-gRPC response) is an ACTIVE failure, which
 * ejects at once; resets, refused and closed connections are NETWORK failures.
 */
import type http2 from 'node:http2';
import type { HeaderValueOptionModel, SocketAddress } from '../snapshot/model';
import { H2ProbeConnection, type H2Response } from './h2-probe-connection';
import type { CheckOutcome, Prober } from './types';

/** Envoy's `Http::Headers::get().UserAgentValues.EnvoyHealthChecker`. */
export const HEALTH_CHECK_USER_AGENT = 'Envoy/HC';

const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

export interface GrpcProberOptions {
  readonly address: SocketAddress;
  /** `grpc_health_check.authority`, else the cluster name. */
  readonly authority: string;
  readonly serviceName: string;
  readonly initialMetadata: readonly HeaderValueOptionModel[];
  readonly timeoutMs: number;
}

export class GrpcProber implements Prober {
  private readonly conn: H2ProbeConnection;
  private readonly headers: http2.OutgoingHttpHeaders;
  private readonly body: Buffer;

  constructor(o: GrpcProberOptions) {
    this.conn = new H2ProbeConnection(o.address);
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      ':scheme': 'http',
      ':authority': o.authority,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': grpcTimeout(o.timeoutMs),
      'user-agent': HEALTH_CHECK_USER_AGENT,
    };
    applyHeaderOptions(headers, o.initialMetadata);
    this.headers = headers;
    this.body = grpcFrame(encodeHealthCheckRequest(o.serviceName));
  }

  check(done: (outcome: CheckOutcome) => void): void {
    this.conn.exchange(this.headers, this.body, (r) => {
      done(r.ok ? evaluateGrpcResponse(r.response) : { healthy: false, type: 'NETWORK', retriable: false, detail: r.detail });
    });
  }

  abort(): void {
    this.conn.abort();
  }

  close(): void {
    this.conn.close();
  }
}

/** A complete HTTP/2 response → the check's outcome. */
export function evaluateGrpcResponse(r: H2Response): CheckOutcome {
  const fail = (detail: string): CheckOutcome => ({ healthy: false, type: 'ACTIVE', retriable: false, detail });
  if (r.status !== 200) return fail(`non-200 HTTP response ${r.status}`);
  const ct = String(r.headers['content-type'] ?? '');
  if (!ct.startsWith('application/grpc')) return fail(`not a gRPC response (content-type "${ct}")`);
  const grpcStatus = r.trailers?.['grpc-status'] ?? r.headers['grpc-status'];
  if (grpcStatus === undefined) return fail('no grpc-status');
  if (Number(grpcStatus) !== 0) {
    const msg = r.trailers?.['grpc-message'] ?? r.headers['grpc-message'];
    return fail(`grpc-status ${grpcStatus}${msg ? ` (${decodeURIComponent(String(msg))})` : ''}`);
  }
  const body = r.body;
  if (body.length < 5) return fail('no response message');
  if (body[0] !== 0) return fail('compressed response message');
  const len = body.readUInt32BE(1);
  if (body.length < 5 + len) return fail('truncated response message');
  if (body.length > 5 + len) return fail('unexpected streaming');
  const status = decodeServingStatus(body.subarray(5, 5 + len));
  if (status === undefined) return fail('undecodable HealthCheckResponse');
  if (status === 1) return { healthy: true, degraded: false };
  return fail(SERVING_STATUS[status] ?? `unknown serving status ${status}`);
}

/** Envoy's grpc-timeout: an integer of at most 8 digits with a unit (`1000m`, then S, M, H when too long). */
export function grpcTimeout(ms: number): string {
  let v = Math.max(0, Math.round(ms));
  for (const [unit, next] of [['m', 1000], ['S', 60], ['M', 60], ['H', 0]] as const) {
    if (v < 100_000_000 || next === 0) return `${Math.min(v, 99_999_999)}${unit}`;
    v = Math.ceil(v / next);
  }
  return `${v}H`;
}

/** `HealthCheckRequest { string service = 1; }`; the field is left out when empty. */
export function encodeHealthCheckRequest(service: string): Buffer {
  if (!service) return Buffer.alloc(0);
  const s = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a]), varint(s.length), s]);
}

/** `HealthCheckResponse { ServingStatus status = 1; }` → the status number (0 when absent); undefined if malformed. */
export function decodeServingStatus(msg: Buffer): number | undefined {
  let status = 0;
  let i = 0;
  const readVarint = (): number | undefined => {
    let v = 0;
    let mul = 1;
    for (let n = 0; n < 10; n++) {
      if (i >= msg.length) return undefined;
      const b = msg[i++]!;
      v += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return v;
    }
    return undefined;
  };
  while (i < msg.length) {
    const tag = readVarint();
    if (tag === undefined) return undefined;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      const v = readVarint();
      if (v === undefined) return undefined;
      if (field === 1) status = v;
    } else if (wire === 2) {
      const len = readVarint();
      if (len === undefined || i + len > msg.length) return undefined;
      i += len;
    } else if (wire === 1) {
      i += 8;
    } else if (wire === 5) {
      i += 4;
    } else {
      return undefined;
    }
  }
  return i === msg.length ? status : undefined;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

function grpcFrame(msg: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

/** Applies HeaderValueOptions (initial_metadata, request_headers_to_add) to an outgoing header object. */
export function applyHeaderOptions(headers: Record<string, string | string[] | number | undefined>, options: readonly HeaderValueOptionModel[]): void {
  for (const o of options) {
    const cur = headers[o.key];
    if (o.action === 'append' && cur !== undefined) headers[o.key] = [...(Array.isArray(cur) ? cur : [String(cur)]), o.value];
    else if (o.action === 'add_if_absent' && cur !== undefined) continue;
    else if (o.action === 'overwrite_if_exists' && cur === undefined) continue;
    else headers[o.key] = o.value;
  }
}
