/**
 * Bad-config fuzzing, in-process: real resources and bootstraps from ../shared/fixtures,
 * mutated (fields deleted, types swapped, extreme values, truncated or noisy protobuf),
 * fed to the same decoders ADS, file subscriptions and the bootstrap loader use. Every
 * input must end as accepted or rejected with errors that name where the problem is;
 * nothing may throw. Seeds are fixed; LEGATE_FUZZ_ITERATIONS raises the count, and
 * LEGATE_FUZZ_SEED changes the seed.
 */
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { encodeResource, loadFixtureResources, type FixtureResource } from '../fakes/control-plane';
import { fixturesDir } from '../fixtures-dir';
import { ingestBootstrap, ingestBytes, ingestJson, type Ingested } from './config-ingest';
import { mutateBytes, mutateJson, Rng } from './mutate';

const ITERATIONS = Number(process.env['LEGATE_FUZZ_ITERATIONS'] ?? 3000);
const SEED = Number(process.env['LEGATE_FUZZ_SEED'] ?? 20261122);
/** Wall-clock cap per part, so a slow shared machine cannot push the suite past its timeout. */
const BUDGET_MS = Number(process.env['LEGATE_FUZZ_BUDGET_MS'] ?? 15_000);

const XDS_FIXTURES = [
  'xds-resources/header-match.routes.yaml',
  'xds-resources/weighted-90-10.clusters.yaml',
  'xds-resources/weighted-90-10.endpoints.yaml',
  'xds-resources/weighted-90-10.listeners.yaml',
  'xds-resources/weighted-90-10.routes.yaml',
  'istio-config-dumps/sidecar-listeners.configdump.yaml',
  'istio-config-dumps/sidecar-endpoints.configdump.json',
  'istio-config-dumps/waypoint-full.config_dump.json',
  'istio-config-dumps/gateway-routes-clusters.http_config.json',
];
const XDS_TYPES = new Set([
  'type.googleapis.com/envoy.config.listener.v3.Listener',
  'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
]);

/** One input that broke an invariant, with what reproduces it. */
interface Finding {
  readonly where: string;
  readonly what: string;
}

function shortType(url: string): string {
  return url.slice(url.lastIndexOf('.') + 1);
}

/** Runs `fn`, turning a throw into a finding; returns the outcome otherwise. */
function guarded<R extends Ingested>(findings: Finding[], where: string, fn: () => R): R | undefined {
  try {
    return fn();
  } catch (err) {
    findings.push({ where, what: `threw ${(err as Error).stack?.split('\n').slice(0, 3).join(' | ')}` });
    return undefined;
  }
}

/** A rejection must say what and where: no empty error, each with a location before its message. */
function checkErrors(findings: Finding[], where: string, r: Ingested, location: RegExp): void {
  if (r.ok) return;
  if (r.errors.length === 0) findings.push({ where, what: 'rejected without any error message' });
  for (const e of r.errors) {
    if (!location.test(e)) findings.push({ where, what: `error does not say where: ${JSON.stringify(e.slice(0, 200))}` });
  }
}

const resources: FixtureResource[] = XDS_FIXTURES.flatMap((f) => loadFixtureResources(f)).filter((r) => XDS_TYPES.has(r.typeUrl));

t.test(`xDS decoders: ${resources.length} real resources, mutated JSON and bytes`, async (t) => {
  t.ok(resources.length >= 50, `fixtures give enough resources (${resources.length})`);
  const rng = new Rng(SEED);
  const findings: Finding[] = [];
  const tally = { json: 0, jsonRejected: 0, bytes: 0, bytesRejected: 0 };
  // The unmutated resources first: each must decode or be refused cleanly.
  for (const r of resources) {
    const where = `${shortType(r.typeUrl)} "${r.name}" (unmutated)`;
    const out = guarded(findings, where, () => ingestJson(r.typeUrl, r.name, r.value));
    if (out) checkErrors(findings, where, out, /: \S*: |: [a-z]/);
  }
  const encoded = resources.map((r) => {
    try {
      return encodeResource(r.typeUrl, r.value, { allowInvalid: true }).value;
    } catch {
      return undefined;
    }
  });
  const started = performance.now();
  let i = 0;
  for (; i < ITERATIONS && performance.now() - started < BUDGET_MS; i++) {
    const k = rng.int(resources.length);
    const r = resources[k]!;
    if (i % 2 === 0) {
      const m = mutateJson(r.value, rng);
      const where = `seed ${SEED} iteration ${i}: ${shortType(r.typeUrl)} "${r.name}" JSON ${m.mutations.map((x) => `${x.op} ${x.path}`).join(', ')}`;
      const out = guarded(findings, where, () => ingestJson(r.typeUrl, r.name, m.value));
      tally.json++;
      if (out && !out.ok) tally.jsonRejected++;
      // "<name>: <field path>: <message>" (the path may be empty for whole-resource problems).
      if (out) checkErrors(findings, where, out, /^[^:]*: (\S+: )?\S/);
    } else {
      const bytes = encoded[k];
      if (!bytes) continue;
      const m = mutateBytes(bytes, rng);
      const where = `seed ${SEED} iteration ${i}: ${shortType(r.typeUrl)} "${r.name}" bytes ${m.op}`;
      const out = guarded(findings, where, () => ingestBytes(r.typeUrl, m.value));
      tally.bytes++;
      if (out && !out.ok) tally.bytesRejected++;
      if (out) checkErrors(findings, where, out, /^(resource index 0: \w+|[^:]+: )/);
    }
  }
  t.comment(`${i} inputs in ${(performance.now() - started).toFixed(0)} ms: JSON ${tally.json} (${tally.jsonRejected} rejected), bytes ${tally.bytes} (${tally.bytesRejected} rejected)`);
  t.ok(tally.jsonRejected > 0 && tally.bytesRejected > 0, 'the mutations do produce rejections (the fuzzer is not a no-op)');
  t.same(findings.slice(0, 10), [], `no decoder crash and every error says where (${findings.length} findings)`);
});

t.test('bootstrap loader: real bootstraps, mutated structure and text', async (t) => {
  const files = [
    ...fs.readdirSync(path.join(fixturesDir(), 'envoy-configs')).map((f) => path.join('envoy-configs', f)),
    ...fs.readdirSync(path.join(fixturesDir(), 'istio-bootstrap')).filter((f) => f.endsWith('_golden.json')).map((f) => path.join('istio-bootstrap', f)),
  ];
  const docs = files.map((f) => ({ file: f, text: fs.readFileSync(path.join(fixturesDir(), f), 'utf8') }));
  const rng = new Rng(SEED + 1);
  const findings: Finding[] = [];
  const located = /^--config-yaml(:\d+:\d+)?: /;
  let rejected = 0;
  let n = 0;
  for (const d of docs) {
    const out = guarded(findings, `${d.file} (unmutated)`, () => ingestBootstrap(d.text));
    if (out) checkErrors(findings, `${d.file} (unmutated)`, out, located);
  }
  const parsed = docs.map((d) => ({ ...d, json: YAML.parse(d.text) as unknown }));
  const started = performance.now();
  const count = Math.max(200, Math.floor(ITERATIONS / 5));
  for (; n < count && performance.now() - started < BUDGET_MS; n++) {
    const d = rng.pick(parsed);
    let text: string;
    let what: string;
    if (rng.next() < 0.7) {
      const m = mutateJson(d.json, rng);
      text = JSON.stringify(m.value);
      what = m.mutations.map((x) => `${x.op} ${x.path}`).join(', ');
    } else {
      const m = mutateBytes(Buffer.from(d.text), rng);
      text = Buffer.from(m.value).toString('utf8');
      what = `text ${m.op}`;
    }
    // An empty --config-yaml is "no configuration", a different message on purpose.
    if (text.trim() === '') continue;
    const where = `seed ${SEED + 1} iteration ${n}: ${d.file} ${what}`;
    const out = guarded(findings, where, () => ingestBootstrap(text));
    if (!out) continue;
    if (!out.ok) rejected++;
    if (out.ok !== out.hasModel) findings.push({ where, what: 'a model came with errors, or no model and no error' });
    checkErrors(findings, where, out, located);
  }
  t.comment(`${n} bootstraps in ${(performance.now() - started).toFixed(0)} ms, ${rejected} rejected`);
  t.ok(rejected > 0, 'mutations produce rejections');
  t.same(findings.slice(0, 10), [], `no loader crash and every error names the source and field (${findings.length} findings)`);
});
