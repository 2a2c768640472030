import type { Http2OptionsModel } from '../../snapshot/model';
import { durationMs, type DecodeContext, type ProtoObj } from './decode-context';

/** Envoy's HTTP/2 defaults (config.core.v3.Http2ProtocolOptions). */
export const HTTP2_DEFAULTS: Http2OptionsModel = {
  maxConcurrentStreams: 2147483647,
  initialStreamWindowSize: 268435456,
  initialConnectionWindowSize: 268435456,
  keepaliveIntervalMs: 0,
  keepaliveTimeoutMs: 0,
};

/** Decodes `config.core.v3.Http2ProtocolOptions` over Envoy's defaults. */
export function decodeHttp2Options(o: ProtoObj | undefined, path: string, ctx: DecodeContext): Http2OptionsModel {
  if (!o) return HTTP2_DEFAULTS;
  const win = (v: unknown, dflt: number, field: string): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    // Same bounds as Envoy's proto validation: [65535, 2147483647].
    if (n < 65535 || n > 2147483647) ctx.error(`${path}.${field}`, `${n} must be in [65535, 2147483647]`);
    return n;
  };
  const mcs = o.max_concurrent_streams === undefined ? HTTP2_DEFAULTS.maxConcurrentStreams : Number(o.max_concurrent_streams);
  if (mcs < 1) ctx.error(`${path}.max_concurrent_streams`, 'must be at least 1');
  const ka = o.connection_keepalive;
  return {
    maxConcurrentStreams: mcs,
    initialStreamWindowSize: win(o.initial_stream_window_size, HTTP2_DEFAULTS.initialStreamWindowSize, 'initial_stream_window_size'),
    initialConnectionWindowSize: win(o.initial_connection_window_size, HTTP2_DEFAULTS.initialConnectionWindowSize, 'initial_connection_window_size'),
    keepaliveIntervalMs: durationMs(ka?.interval, 0),
    keepaliveTimeoutMs: durationMs(ka?.timeout, ka ? 20_000 : 0),
  };
}
