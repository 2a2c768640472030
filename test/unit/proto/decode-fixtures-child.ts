/**
 * Child process of descriptor-equivalence.test.ts: decodes every real config in
 * the shared fixtures (JSON decode with PGV validation, strict and with unknown
 * fields allowed, a binary round trip, the proto3 JSON a /config_dump prints)
 * and prints the results as one JSON document. The test runs it once per proto
 * source (`LEGATE_PROTO_SOURCE`) and compares the outputs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { envoyProtoSource, loadedProtoPackages, lookupMessage, typeUrlOf } from '../../../src/proto/envoy-protos';
import { decodeAnyBinary } from '../../../src/proto/proto-binary';
import { encodeBinaryAny, toProtoJson } from '../../../src/proto/proto-encode';
import { decodeJson } from '../../../src/proto/proto-json';
import { fixturesDir } from '../../fixtures-dir';

const RESOURCE_TYPES: Record<string, string> = {
  listeners: 'envoy.config.listener.v3.Listener',
  routes: 'envoy.config.route.v3.RouteConfiguration',
  clusters: 'envoy.config.cluster.v3.Cluster',
  endpoints: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
};

/** [fixture file, message type] pairs; the type of a resource file comes from its name. */
function inputs(root: string): [string, string][] {
  const list = (dir: string, re: RegExp): string[] =>
    fs.existsSync(path.join(root, dir)) ? fs.readdirSync(path.join(root, dir)).filter((f) => re.test(f)).sort().map((f) => path.join(dir, f)) : [];
  return [
    ...list('envoy-configs', /\.ya?ml$/).map((f): [string, string] => [f, 'envoy.config.bootstrap.v3.Bootstrap']),
    ...list('istio-bootstrap', /_golden\.json$/).map((f): [string, string] => [f, 'envoy.config.bootstrap.v3.Bootstrap']),
    ...list('istio-config-dumps', /\.(json|ya?ml)$/).map((f): [string, string] => [f, 'envoy.admin.v3.ConfigDump']),
    ...list('xds-resources', /\.ya?ml$/).map((f): [string, string] => [f, RESOURCE_TYPES[path.basename(f).split('.').slice(-2)[0]!]!]),
  ];
}

const root = fixturesDir();
const results: unknown[] = [];
const packagesBefore = loadedProtoPackages();
for (const [file, typeName] of inputs(root)) {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const doc: unknown = /\.json$/.test(file) ? JSON.parse(text) : parseYaml(text);
  const docs = Array.isArray(doc) && typeName !== 'envoy.config.bootstrap.v3.Bootstrap' ? doc : [doc];
  const type = lookupMessage(typeName)!;
  docs.forEach((input, i) => {
    const strict = decodeJson(type, input);
    const lenient = decodeJson(type, input, { allowUnknownFields: true });
    let binary: unknown = null;
    let protoJson: unknown = null;
    if (strict.errors.length === 0) {
      // Configs with Anys that are not in Envoy's API (Istio's own filters) cannot be re-encoded.
      try {
        const any = encodeBinaryAny(typeUrlOf(type), strict.value);
        binary = { bytes: Buffer.from(any.value).toString('base64'), back: decodeAnyBinary(any) };
      } catch (err) {
        binary = { error: (err as Error).message };
      }
      protoJson = toProtoJson(type, strict.value);
    }
    results.push({ file, i, strict, lenient, binary, protoJson });
  });
}
process.stdout.write(JSON.stringify({ source: envoyProtoSource(), packagesBefore, packagesAfter: loadedProtoPackages(), results }));
