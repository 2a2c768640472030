import { USE_NODE_HTTP2 } from '../../h2/core-choice';
import type { Http2OptionsModel } from '../../snapshot/model';
import { durationMs, type DecodeContext, type ProtoObj } from './decode-context';

/** Envoy's HTTP/2 defaults (config.core.v3.Http2ProtocolOptions). */
export const HTTP2_DEFAULTS: Http2OptionsModel = {
  maxConcurrentStreams: 2147483647,
  initialStreamWindowSize: 268435456,
  initialConnectionWindowSize: 268435456,
  keepaliveIntervalMs: 0,
  keepaliveTimeoutMs: 0,
  maxOutboundFrames: 10000,
  maxOutboundControlFrames: 1000,
  maxConsecutiveInboundFramesWithEmptyPayload: 1,
  maxInboundPriorityFramesPerStream: 100,
  maxInboundWindowUpdateFramesPerDataFrameSent: 10,
  streamErrorOnInvalidHttpMessaging: false,
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
  const count = (field: string, dflt: number, min: number): number => {
    const v = o[field];
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > 4294967295) ctx.error(`${path}.${field}`, `${String(v)} must be an integer in [${min}, 4294967295]`);
    return n;
  };
  // Flood limits Legate's HTTP/2 codec does not count: accepted, a different value is not honoured
  // (docs/compat.md, "Downstream protocol limits"). Under node:http2 (LEGATE_HTTP2_CORE=node)
  // nghttp2 holds two more with fixed values of its own.
  const unhonoured: ReadonlyArray<readonly [string, string]> = [
    ['max_outbound_frames', 'queued output is bounded by flow control, not by frame count'],
    ['max_inbound_window_update_frames_per_data_frame_sent', 'WINDOW_UPDATE frames are not counted'],
    ...(USE_NODE_HTTP2 ? [
      ['max_outbound_control_frames', 'nghttp2 closes the connection at 1000 queued SETTINGS/PING ACKs'],
      ['max_consecutive_inbound_frames_with_empty_payload', 'node counts empty and invalid frames per connection, not consecutively, and closes it after max(1000, this value)'],
    ] as const : []),
  ];
  for (const [field, fixed] of unhonoured) {
    const v = o[field];
    const dflt = (HTTP2_DEFAULTS as unknown as Record<string, number>)[camel(field)];
    if (v !== undefined && Number(v) !== dflt) ctx.warn(`${path}.${field}`, `${String(v)} is not honoured: ${fixed} (Envoy's default is ${dflt})`);
  }
  if (o.override_stream_error_on_invalid_http_message !== undefined) {
    ctx.warn(`${path}.override_stream_error_on_invalid_http_message`, 'Legate always resets only the offending stream (see docs/compat.md)');
  }
  return {
    maxConcurrentStreams: mcs,
    initialStreamWindowSize: win(o.initial_stream_window_size, HTTP2_DEFAULTS.initialStreamWindowSize, 'initial_stream_window_size'),
    initialConnectionWindowSize: win(o.initial_connection_window_size, HTTP2_DEFAULTS.initialConnectionWindowSize, 'initial_connection_window_size'),
    keepaliveIntervalMs: durationMs(ka?.interval, 0),
    keepaliveTimeoutMs: durationMs(ka?.timeout, ka ? 20_000 : 0),
    maxOutboundFrames: count('max_outbound_frames', HTTP2_DEFAULTS.maxOutboundFrames, 1),
    maxOutboundControlFrames: count('max_outbound_control_frames', HTTP2_DEFAULTS.maxOutboundControlFrames, 1),
    maxConsecutiveInboundFramesWithEmptyPayload: count('max_consecutive_inbound_frames_with_empty_payload', HTTP2_DEFAULTS.maxConsecutiveInboundFramesWithEmptyPayload, 0),
    maxInboundPriorityFramesPerStream: count('max_inbound_priority_frames_per_stream', HTTP2_DEFAULTS.maxInboundPriorityFramesPerStream, 0),
    maxInboundWindowUpdateFramesPerDataFrameSent: count('max_inbound_window_update_frames_per_data_frame_sent', HTTP2_DEFAULTS.maxInboundWindowUpdateFramesPerDataFrameSent, 1),
    streamErrorOnInvalidHttpMessaging: o.stream_error_on_invalid_http_messaging === true,
  };
}

function camel(snake: string): string {
  return snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}
