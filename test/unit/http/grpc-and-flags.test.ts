import t from 'tap';
import { encodeGrpcMessage, httpToGrpcStatus, parseGrpcTimeout } from '../../../src/http/grpc';
import { flagBit, formatResponseFlags } from '../../../src/http/response-flags';

t.test('grpc-timeout parsing', async (t) => {
  t.equal(parseGrpcTimeout('100m'), 100);
  t.equal(parseGrpcTimeout('2S'), 2000);
  t.equal(parseGrpcTimeout('1H'), 3_600_000);
  t.equal(parseGrpcTimeout('5000u'), 5);
  t.equal(parseGrpcTimeout('123456789m'), undefined, 'more than 8 digits is invalid');
  t.equal(parseGrpcTimeout('10x'), undefined);
  t.equal(parseGrpcTimeout(undefined), undefined);
});

t.test('HTTP → gRPC status mapping (Envoy httpToGrpcStatus)', async (t) => {
  t.equal(httpToGrpcStatus(404), 12);
  t.equal(httpToGrpcStatus(503), 14);
  t.equal(httpToGrpcStatus(504), 14);
  t.equal(httpToGrpcStatus(429), 14);
  t.equal(httpToGrpcStatus(401), 16);
  t.equal(httpToGrpcStatus(418), 2);
});

t.test('grpc-message percent-encoding', async (t) => {
  t.equal(encodeGrpcMessage('plain text'), 'plain text');
  t.equal(encodeGrpcMessage('100%'), '100%25');
  t.equal(encodeGrpcMessage('é\n'), '%C3%A9%0A');
});

t.test('response flags print in Envoy order, comma-joined', async (t) => {
  t.equal(formatResponseFlags(0), '-');
  t.equal(formatResponseFlags(flagBit('UF') | flagBit('UH')), 'UH,UF');
  t.equal(formatResponseFlags(flagBit('DC') | flagBit('UT'), true), 'UpstreamRequestTimeout,DownstreamConnectionTermination');
});
