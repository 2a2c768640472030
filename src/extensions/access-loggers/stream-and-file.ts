import type { AccessLogModel } from '../../snapshot/model';
import type { DecodeContext, ProtoObj } from '../../xds/resources/decode-context';
import type { AccessLoggerFactory } from '../registry';

/** Envoy's default access log format (access_log/usage.rst "Default format string"). */
export const ENVOY_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" ' +
  '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

/** Decodes `config.core.v3.SubstitutionFormatString`. */
function decodeLogFormat(f: ProtoObj | undefined, path: string, ctx: DecodeContext): AccessLogModel['format'] {
  if (!f) return { kind: 'text', text: ENVOY_DEFAULT_FORMAT };
  if (f.formatters?.length) ctx.warn(`${path}.formatters`, 'formatter extensions are not supported; their operators print "-"');
  if (f.text_format !== undefined) return { kind: 'text', text: String(f.text_format) };
  if (f.text_format_source) {
    const s = f.text_format_source;
    if (s.inline_string !== undefined) return { kind: 'text', text: String(s.inline_string) };
    if (s.inline_bytes !== undefined) return { kind: 'text', text: Buffer.from(s.inline_bytes).toString() };
    ctx.error(`${path}.text_format_source`, 'only inline_string and inline_bytes sources are supported');
  }
  if (f.json_format) return { kind: 'json', fields: f.json_format, typed: false };
  return { kind: 'text', text: ENVOY_DEFAULT_FORMAT };
}

const fileLogger: AccessLoggerFactory = {
  decode(name, c, path, ctx) {
    const p = String(c.path ?? '');
    if (!p) ctx.error(`${path}.path`, 'access log path is required');
    let format: AccessLogModel['format'];
    if (c.format !== undefined) format = { kind: 'text', text: String(c.format) };
    else if (c.json_format) format = { kind: 'json', fields: c.json_format, typed: false };
    else if (c.typed_json_format) format = { kind: 'json', fields: c.typed_json_format, typed: true };
    else format = decodeLogFormat(c.log_format, `${path}.log_format`, ctx);
    const sink: AccessLogModel['sink'] = p === '/dev/stdout' ? { kind: 'stdout' } : p === '/dev/stderr' ? { kind: 'stderr' } : { kind: 'file', path: p };
    return { name, sink, format };
  },
};

const stdoutLogger: AccessLoggerFactory = {
  decode: (name, c, path, ctx) => ({ name, sink: { kind: 'stdout' }, format: decodeLogFormat(c.log_format, `${path}.log_format`, ctx) }),
};

const stderrLogger: AccessLoggerFactory = {
  decode: (name, c, path, ctx) => ({ name, sink: { kind: 'stderr' }, format: decodeLogFormat(c.log_format, `${path}.log_format`, ctx) }),
};

export const fileAccessLogger = fileLogger;
export const stdoutAccessLogger = stdoutLogger;
export const stderrAccessLogger = stderrLogger;
