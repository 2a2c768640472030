import t from 'tap';
import { ENVOY_DEFAULT_FORMAT } from '../../../src/extensions/access-loggers/stream-and-file';
import { compileTextFormat } from '../../../src/access-log/formatter';
import { StreamInfo } from '../../../src/http/stream-info';

const ISTIO = '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

function sample(): StreamInfo {
  const s = new StreamInfo();
  (s as { startEpochMs: number }).startEpochMs = Date.parse('2022-07-15T05:35:14.418Z');
  s.requestHeaders = { ':method': 'POST', ':path': '/org.apache.dubbo.samples.Greeter/greet', ':authority': 'dubbo-samples-mesh-provider:50052', 'x-request-id': '6b8a' };
  s.responseHeaders = { ':status': 200, 'x-envoy-upstream-service-time': '1' };
  s.responseCode = 200;
  s.responseCodeDetails = 'via_upstream';
  s.bytesReceived = 19;
  s.bytesSent = 160;
  s.lastDownstreamTxByteMs = 2.7;
  s.upstreamHost = '172.17.0.4:50052';
  s.upstreamClusterName = 'outbound|50052||dubbo-samples-mesh-provider.dubbo-demo.svc.cluster.local';
  s.upstreamClusterObservabilityName = s.upstreamClusterName;
  s.upstreamLocalAddress = '172.17.0.7:52768';
  s.downstreamLocalAddress = '10.101.172.129:50052';
  s.downstreamRemoteAddress = '172.17.0.7:38488';
  s.routeName = 'default';
  return s;
}

t.test("Istio's text format renders the Dubbo sample's sidecar line", async (t) => {
  const line = compileTextFormat(ISTIO).render(sample());
  t.equal(line, '[2022-07-15T05:35:14.418Z] "POST /org.apache.dubbo.samples.Greeter/greet HTTP/2" 200 - via_upstream - "-" 19 160 2 1 "-" "-" "6b8a" "dubbo-samples-mesh-provider:50052" "172.17.0.4:50052" outbound|50052||dubbo-samples-mesh-provider.dubbo-demo.svc.cluster.local 172.17.0.7:52768 10.101.172.129:50052 172.17.0.7:38488 - default\n');
});

t.test("Envoy's default format", async (t) => {
  const line = compileTextFormat(ENVOY_DEFAULT_FORMAT).render(sample());
  t.match(line, /^\[2022-07-15T05:35:14\.418Z\] "POST \/org\.apache\.dubbo\.samples\.Greeter\/greet HTTP\/2" 200 - 19 160 2 1 "-" "-" "6b8a" "dubbo-samples-mesh-provider:50052" "172\.17\.0\.4:50052"\n$/);
});

t.test('operators: truncation, alternatives, START_TIME format, unknown operator', async (t) => {
  const s = sample();
  t.equal(compileTextFormat('%REQ(:PATH):4%').render(s), '/org');
  t.equal(compileTextFormat('%REQ(X-MISSING?:AUTHORITY)%').render(s), 'dubbo-samples-mesh-provider:50052');
  t.equal(compileTextFormat('%START_TIME(%Y/%m/%d %s %3f)%').render(s), '2022/07/15 1657863314 418');
  t.throws(() => compileTextFormat('%NOT_AN_OPERATOR%'), /unknown access log command operator %NOT_AN_OPERATOR%/);
  s.requestHeaders = { 'user-agent': 'evil\nline' };
  t.equal(compileTextFormat('%REQ(USER-AGENT)%').render(s), 'evil\\x0aline', 'control characters cannot inject lines');
});
