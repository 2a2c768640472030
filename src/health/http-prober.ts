/**
 * The HTTP health checker's probe (source/extensions/health_checkers/http/health_checker_impl.cc):
 * `method path` with `host` (default: the cluster name) and `user-agent: Envoy/HC`, over HTTP/1.1
 * or HTTP/2 (`codec_client_type`). A status in `expected_statuses` (default 200) is healthy
 * (degraded with `x-envoy-degraded`); one in `retriable_statuses` is a failure that counts toward
 * unhealthy_threshold; any other status fails at once. `receive` payloads must appear, in order,
 * in the first 1024 bytes of the body.
 */
import http from 'node:http';
import type http2 from 'node:http2';
import type { HealthCheckerModel, SocketAddress } from '../snapshot/model';
import { applyHeaderOptions, HEALTH_CHECK_USER_AGENT } from './grpc-prober';
import { H2ProbeConnection } from './h2-probe-connection';
import { containsInOrder } from './payload-match';
import type { CheckOutcome, Prober } from './types';

type HttpChecker = Extract<HealthCheckerModel, { kind: 'http' }>;

/** Envoy's default `response_buffer_size`. */
const RESPONSE_BUFFER_BYTES = 1024;

export class HttpProber implements Prober {
  private readonly h2: H2ProbeConnection | undefined;
  private agent: http.Agent | undefined;
  private req: http.ClientRequest | undefined;
  private readonly headers: Record<string, string | string[]>;

  constructor(private readonly address: SocketAddress, private readonly cfg: HttpChecker, host: string, private readonly reuse: boolean) {
    const headers: Record<string, string | string[]> = { 'user-agent': HEALTH_CHECK_USER_AGENT };
    applyHeaderOptions(headers, cfg.requestHeadersToAdd);
    for (const name of cfg.requestHeadersToRemove) if (name !== 'host' && name !== ':authority') delete headers[name];
    this.headers = headers;
    if (cfg.codec === 'HTTP2') {
      this.h2 = new H2ProbeConnection(address, RESPONSE_BUFFER_BYTES);
      this.h2Headers = { ':method': cfg.method, ':path': cfg.path, ':scheme': 'http', ':authority': host, ...headers };
    } else {
      this.h1Host = host;
    }
  }

  private h2Headers: http2.OutgoingHttpHeaders = {};
  private h1Host = '';

  check(done: (outcome: CheckOutcome) => void): void {
    if (this.h2) {
      this.h2.exchange(this.h2Headers, undefined, (r) => {
        if (!r.ok) done({ healthy: false, type: 'NETWORK', retriable: false, detail: r.detail });
        else done(this.evaluate(r.response.status, r.response.headers['x-envoy-degraded'] !== undefined, r.response.body));
      });
      return;
    }
    this.checkH1(done);
  }

  abort(): void {
    this.h2?.abort();
    this.req?.destroy();
    this.req = undefined;
  }

  close(): void {
    this.h2?.close();
    this.req?.destroy();
    this.req = undefined;
    this.agent?.destroy();
    this.agent = undefined;
  }

  private checkH1(done: (outcome: CheckOutcome) => void): void {
    if (this.reuse && !this.agent) this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const a = this.address;
    let finished = false;
    const finish = (o: CheckOutcome): void => {
      if (finished) return;
      finished = true;
      this.req = undefined;
      done(o);
    };
    const req = http.request({
      ...(a.kind === 'tcp' ? { host: a.host, port: a.port } : { socketPath: a.path }),
      method: this.cfg.method,
      path: this.cfg.path,
      headers: { ...this.headers, host: this.h1Host },
      agent: this.agent ?? false,
      setHost: false,
    });
    this.req = req;
    req.on('error', (err) => finish({ healthy: false, type: 'NETWORK', retriable: false, detail: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < RESPONSE_BUFFER_BYTES) chunks.push(c);
        size += c.length;
      });
      res.on('error', (err) => finish({ healthy: false, type: 'NETWORK', retriable: false, detail: err.message }));
      res.on('end', () => finish(this.evaluate(res.statusCode ?? 0, res.headers['x-envoy-degraded'] !== undefined, Buffer.concat(chunks))));
    });
    req.end();
  }

  private evaluate(status: number, degraded: boolean, body: Buffer): CheckOutcome {
    const inRanges = (ranges: HttpChecker['expectedStatuses']): boolean => ranges.some(([s, e]) => status >= s && status < e);
    if (inRanges(this.cfg.expectedStatuses)) {
      if (this.cfg.receive.length && !containsInOrder(body.subarray(0, RESPONSE_BUFFER_BYTES), this.cfg.receive)) {
        return { healthy: false, type: 'ACTIVE', retriable: false, detail: 'response body does not match receive' };
      }
      return { healthy: true, degraded };
    }
    return { healthy: false, type: 'ACTIVE', retriable: inRanges(this.cfg.retriableStatuses), detail: `HTTP status ${status}` };
  }
}
