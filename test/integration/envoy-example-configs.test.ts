import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { fixturesDir } from '../fixtures-dir';
import { runLegate } from './run-legate';

const DIR = path.join(fixturesDir(), 'envoy-configs');

/**
 * Each of Envoy's example configs either validates, or fails naming the feature
 * Legate does not support yet (each listed in docs/compat.md).
 */
const EXPECTED: Record<string, RegExp | 'ok'> = {
  'envoy-demo.yaml': /transport socket .*envoy\.extensions\.transport_sockets\.tls\.v3\.UpstreamTlsContext.* is not supported/,
  'front-proxy_envoy.yaml': 'ok',
  'grpc-bridge-server-http2-accesslog.yaml': 'ok',
  'locality-lb-health-checks.yaml': 'ok',
  'dynamic-config-cp-ads.yaml': 'ok',
};

for (const file of fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml'))) {
  t.test(file, async (t) => {
    const want = EXPECTED[file];
    t.ok(want, `expectation recorded for ${file}`);
    const r = runLegate(['--mode', 'validate', '-c', path.join(DIR, file)]);
    if (want === 'ok') {
      t.equal(r.code, 0, r.stderr);
    } else {
      t.equal(r.code, 1);
      t.match(r.stderr, want!);
      t.match(r.stderr, new RegExp(file.replace('.', '\\.')), 'the error names the file');
    }
  });
}

const ISTIO = path.join(fixturesDir(), 'istio-bootstrap');
const ISTIO_EXPECTED: Record<string, RegExp | 'ok'> = {
  'default_golden.json': 'ok',
  'running_golden.json': 'ok',
  // Its metrics-service cluster uses an upstream TLS context: refused by name, never downgraded.
  'all_golden.json': /static_resources\.clusters\[5\]\.transport_socket: transport socket "envoy\.transport_sockets\.tls"/,
};

for (const [file, want] of Object.entries(ISTIO_EXPECTED)) {
  t.test(`Istio bootstrap ${file}`, async (t) => {
    const r = runLegate(['--mode', 'validate', '-c', path.join(ISTIO, file)]);
    if (want === 'ok') t.equal(r.code, 0, r.stderr);
    else {
      t.equal(r.code, 1);
      t.match(r.stderr, want);
    }
  });
}
