/**
 * The precompiled descriptor (dist/envoy-descriptor, loaded lazily per proto
 * package) must decode exactly as parsing Envoy's .proto text does. Each source
 * runs in its own process (the Root is a per-process singleton) over every real
 * config of the shared fixtures; the outputs must be identical.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';
import { LazyDescriptorRoot } from '../../../src/proto/descriptor-chunks';
import { DESCRIPTOR_DIR, currentDescriptorSources } from '../../../src/proto/envoy-protos';
import { fixturesDir } from '../../fixtures-dir';

const CHILD = path.join(__dirname, 'decode-fixtures-child.js');
/** The repository root (this file runs from dist/test/unit/proto). */
const REPO = path.resolve(__dirname, '../../../..');
const skip = fs.existsSync(fixturesDir()) ? false : `no fixtures under ${fixturesDir()}`;

interface ChildOutput {
  source: string;
  packagesBefore: number | undefined;
  packagesAfter: number | undefined;
  results: { file: string; strict: { errors: unknown[] } }[];
}

function decodeWith(source: 'descriptor' | 'text'): { out: ChildOutput; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env['LEGATE_PROTO_SOURCE'];
  if (source === 'text') env['LEGATE_PROTO_SOURCE'] = 'text';
  const r = spawnSync(process.execPath, [CHILD], { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`decode child (${source}) exited ${r.status}: ${r.stderr}`);
  return { out: JSON.parse(r.stdout) as ChildOutput, stdout: r.stdout, stderr: r.stderr };
}

t.test('descriptor and .proto text decode every fixture identically', { skip }, async (t) => {
  const text = decodeWith('text');
  const desc = decodeWith('descriptor');
  t.equal(text.out.source, 'proto-text');
  t.equal(desc.out.source, 'descriptor', 'the build wrote dist/envoy-descriptor and run time uses it');
  t.equal(desc.stderr, '', 'no fallback warning');
  t.ok(desc.out.results.length >= 15, `${desc.out.results.length} documents decoded`);
  t.ok(desc.out.results.some((r) => r.strict.errors.length === 0), 'some fixtures decode cleanly (not only errors compared)');
  t.equal(desc.out.packagesBefore, 0, 'nothing loaded before the first lookup');
  t.ok(desc.out.packagesAfter! > 0, `${desc.out.packagesAfter} packages loaded`);
  t.equal(desc.out.results.length, text.out.results.length, 'same documents');
  // Name the first document that differs rather than diffing megabytes.
  const differs = desc.out.results.findIndex((r, k) => JSON.stringify(r) !== JSON.stringify(text.out.results[k]));
  if (differs >= 0) t.fail(`decodes differ first in ${desc.out.results[differs]!.file}`);
  else t.pass('identical decode, validation, binary and proto3-JSON output');
});

t.test('a missing or stale descriptor is refused with a reason (run time then parses .proto text)', async (t) => {
  const sources = currentDescriptorSources();
  const missing = LazyDescriptorRoot.open(path.join(os.tmpdir(), 'legate-no-such-descriptor'), sources);
  t.match(missing, /manifest\.json is missing or unreadable/);
  const built = path.join(REPO, DESCRIPTOR_DIR);
  t.type(LazyDescriptorRoot.open(built, sources), LazyDescriptorRoot, 'the build output is current');
  const stale = LazyDescriptorRoot.open(built, { ...sources, protobufjs: '0.0.0' });
  t.match(stale, /built from other sources \(protobufjs: .* ≠ 0\.0\.0\)/);
});

t.test('a lookup loads only the packages its type reaches', async (t) => {
  const lazy = LazyDescriptorRoot.open(path.join(REPO, DESCRIPTOR_DIR), currentDescriptorSources());
  if (typeof lazy === 'string') throw new Error(lazy);
  const total = Object.keys(lazy.manifest.chunks).length;
  lazy.ensure('google.protobuf.Duration');
  t.equal(lazy.loadedChunks, 1, 'a well-known type: its own package only');
  lazy.ensure('envoy.config.cluster.v3.Cluster');
  const cluster = lazy.root.lookupType('envoy.config.cluster.v3.Cluster');
  t.doesNotThrow(() => cluster.resolveAll(), 'every type the Cluster reaches is there');
  t.ok(lazy.loadedChunks < total / 4, `${lazy.loadedChunks} of ${total} packages`);
  lazy.ensure('no.such.Type');
  lazy.ensure('envoy');
  t.equal(lazy.root.lookup('envoy.config.listener.v3.Listener'), null, 'unrelated packages stay unloaded');
});
