/**
 * Members of a loaded descriptor package are built only when reached (descriptor-chunks.ts):
 * a sidecar bootstrap builds a fraction of what its packages hold, an unknown type URL builds
 * nothing, and walking the whole API still builds everything. Runs in its own process, so the
 * counts start from an empty Root. (That decoding is unchanged is descriptor-equivalence's job.)
 */
import t from 'tap';
import * as protobuf from 'protobufjs';
import { loadBootstrap } from '../../../src/bootstrap/bootstrap';
import { descriptorMemberCounts, envoyProtoSource, envoyRoot, lookupByTypeUrl, lookupMessage } from '../../../src/proto/envoy-protos';
import { sidecarBootstrap } from '../../../bench/macro/sidecar-bootstrap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

t.equal(envoyProtoSource(), 'descriptor', 'the precompiled descriptor is in use (npm run build writes it)');

t.test('a sidecar bootstrap builds a fraction of the members of the packages it loads', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-lazy-members-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'bootstrap.json');
  fs.writeFileSync(file, JSON.stringify(sidecarBootstrap({ services: 5, adminPort: 15000, listenerPort: 15001, backendPort: 8080 })));
  const loaded = loadBootstrap({ configPath: file });
  t.same(loaded.errors, [], 'the bootstrap is valid');
  t.equal(loaded.model?.clusters.length, 5);
  const counts = descriptorMemberCounts()!;
  t.comment(`members built: ${counts.built} of ${counts.listed}`);
  t.ok(counts.listed > 100, 'its packages hold hundreds of members');
  t.ok(counts.built > 10 && counts.built < counts.listed / 2, `under half of them built (${counts.built} of ${counts.listed})`);
});

t.test('looking up a name no package holds, or a missing member, builds nothing', async (t) => {
  lookupMessage('envoy.config.cluster.v3.Cluster');
  const before = descriptorMemberCounts()!;
  t.equal(lookupByTypeUrl('type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange'), undefined, 'Istio type not in the API');
  t.equal(lookupMessage('envoy.config.cluster.v3.NoSuchType'), undefined, 'missing member of a loaded package');
  t.equal(lookupMessage('v3.Cluster'), undefined, 'a partial name is not searched for below the root');
  t.same(descriptorMemberCounts(), before, 'no member built by the failed lookups');
});

t.test('a member built late resolves its fields and encodes like any other', async (t) => {
  const type = lookupMessage('envoy.config.cluster.v3.Cluster')!;
  const bytes = type.encode(type.fromObject({ name: 'c', connect_timeout: { seconds: 2 }, load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } } }] }] } })).finish();
  const back = type.toObject(type.decode(bytes), { longs: Number }) as { load_assignment: { endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { port_value: number } } } }[] }[] } };
  t.equal(back.load_assignment.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address.port_value, 80);
  const address = type.lookup('.envoy.config.core.v3.Address');
  t.ok(address instanceof protobuf.Type, 'protobufjs finds the built member by its absolute name');
});

t.test('walking the whole API builds every member', async (t) => {
  const root = envoyRoot();
  let types = 0;
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Type) types++;
      if (o instanceof protobuf.Namespace) walk(o);
    }
  };
  walk(root);
  const counts = descriptorMemberCounts()!;
  t.equal(counts.built, counts.listed, 'nothing left unbuilt');
  t.ok(types > 1000, `${types} message types`);
  root.resolveAll();
  t.pass('resolveAll succeeds on the fully built Root');
});
