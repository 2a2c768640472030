import type { HttpFilterFactory } from '../registry';

/**
 * HTTP filters istiod and Istio's bootstrap always send whose absence does not let any
 * traffic through that would otherwise be stopped. Legate accepts them and does nothing
 * (each is listed with its reason in docs/compat.md):
 *
 * - compressor: responses go out uncompressed, which is always valid HTTP;
 * - grpc_stats: per-method gRPC stats only (Istio's stats filter is implemented: istio-stats.ts);
 * - cors: no CORS headers are added, so browsers refuse cross-origin calls (fail closed);
 * - istio.alpn: only overrides ALPN for TLS upstreams, which Legate does not have;
 * - istio peer metadata exchange (io.istio.http.peer_metadata.Config): telemetry labels only.
 */
export function noopFilter(name: string): HttpFilterFactory {
  return { decode: () => ({ kind: 'noop', name }) };
}

/**
 * envoy.filters.http.fault: Istio adds it with an empty config on every HTTP listener.
 * Empty, it does nothing; a configured delay or abort is a behaviour Legate does not
 * implement yet, so that is an error rather than a silent no-op.
 */
export const faultFilter: HttpFilterFactory = {
  decode(config, path, ctx) {
    if (config.delay || config.abort) ctx.error(path, 'fault injection (delay/abort) is not implemented yet');
    return { kind: 'noop', name: 'envoy.filters.http.fault' };
  },
};
