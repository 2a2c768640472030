import t from 'tap';
import { CDS_TYPE_URL, EDS_TYPE_URL, type DeltaDiscoveryResponseMessage, startControlPlane } from '../../fakes/control-plane';
import { decodeResource, deltaStream } from './ads-test-client';
import { cluster, endpoints } from './resources';

const NODE = { id: 'sidecar~10.0.0.2~provider-1.demo~demo.svc.cluster.local' };

const names = (res: DeltaDiscoveryResponseMessage): string[] => res.resources.map((r) => r.name).sort();
const versions = (res: DeltaDiscoveryResponseMessage): Record<string, string> => Object.fromEntries(res.resources.map((r) => [r.name, r.version]));

t.test('CDS wildcard: per-resource versions, only changes, removed_resources', async (t) => {
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  cp.setResources(CDS_TYPE_URL, [
    { name: 'c1', value: cluster('c1') },
    { name: 'c2', value: cluster('c2') },
  ]);
  const s = deltaStream(cp.target);
  t.teardown(() => s.close());
  s.send({ type_url: CDS_TYPE_URL, node: NODE });
  const first = await s.next();
  t.equal(first.system_version_info, '1');
  t.same(names(first), ['c1', 'c2']);
  t.same(versions(first), { c1: '1', c2: '1' });
  t.same(first.removed_resources, []);
  t.match(decodeResource(first.resources[0]!.resource!), { '@type': CDS_TYPE_URL, name: 'c1', type: 'EDS' });
  t.match(cp.requests[0], { kind: 'delta', typeUrl: CDS_TYPE_URL, resourceNames: ['*'], subscribe: [], unsubscribe: [], node: { id: NODE.id } });

  s.send({ type_url: CDS_TYPE_URL, response_nonce: first.nonce });
  await cp.waitForAck(CDS_TYPE_URL, '1');
  await s.nothingFor();

  // Re-setting the same set: identical bytes keep their versions, so nothing is sent.
  cp.setResources(CDS_TYPE_URL, [
    { name: 'c1', value: cluster('c1') },
    { name: 'c2', value: cluster('c2', '5s') },
    { name: 'c3', value: cluster('c3') },
  ]);
  const changed = await s.next();
  t.same(names(changed), ['c2', 'c3'], 'only what changed');
  t.same(versions(changed), { c2: '2', c3: '2' });
  s.send({ type_url: CDS_TYPE_URL, response_nonce: changed.nonce });

  cp.removeResource(CDS_TYPE_URL, 'c1');
  const removed = await s.next();
  t.same(removed.resources, []);
  t.same(removed.removed_resources, ['c1']);
  t.equal(removed.system_version_info, '3');

  // NACK by nonce + error_detail.
  cp.setRawResource(CDS_TYPE_URL, 'c4', Buffer.from('definitely not a cluster'));
  const bad = await s.next();
  t.same(names(bad), ['c4']);
  s.send({ type_url: CDS_TYPE_URL, response_nonce: bad.nonce, error_detail: { code: 13, message: 'c4: bad proto' } });
  t.same(await cp.waitForNack(CDS_TYPE_URL), { code: 13, message: 'c4: bad proto' });
  await s.nothingFor(200);
});

t.test('EDS: subscribe, missing names, unsubscribe, resubscribe', async (t) => {
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  cp.setResources(EDS_TYPE_URL, [
    { name: 'a', value: endpoints(9001) },
    { name: 'b', value: endpoints(9002) },
  ]);
  const s = deltaStream(cp.target);
  t.teardown(() => s.close());
  s.send({ type_url: EDS_TYPE_URL, node: NODE, resource_names_subscribe: ['a', 'ghost'] });
  const first = await s.next();
  t.same(names(first), ['a']);
  t.same(first.removed_resources, ['ghost'], 'a missing subscription is reported as removed');
  t.match(decodeResource(first.resources[0]!.resource!), { cluster_name: 'a' });
  s.send({ type_url: EDS_TYPE_URL, response_nonce: first.nonce });

  cp.setResource(EDS_TYPE_URL, 'b', endpoints(9003));
  await s.nothingFor(200); // not subscribed to b

  s.send({ type_url: EDS_TYPE_URL, resource_names_subscribe: ['b'] });
  const b = await s.next();
  t.same(names(b), ['b']);
  t.same(b.removed_resources, [], 'ghost is not reported twice');
  t.match(cp.requests.at(-1), { subscribe: ['b'], responseNonce: '', resourceNames: ['a', 'ghost', 'b'] });

  s.send({ type_url: EDS_TYPE_URL, resource_names_unsubscribe: ['a'] });
  await cp.waitForRequest((r) => r.unsubscribe?.includes('a') === true);
  cp.setResource(EDS_TYPE_URL, 'a', endpoints(9004));
  await s.nothingFor(200);

  s.send({ type_url: EDS_TYPE_URL, resource_names_subscribe: ['a'] });
  const again = await s.next();
  t.same(names(again), ['a'], 'resent after unsubscribe + subscribe');

  cp.setResource(EDS_TYPE_URL, 'ghost', endpoints(9005));
  const born = await s.next();
  t.same(names(born), ['ghost'], 'a missing subscription is sent once it exists');
});

t.test('reconnect with initial_resource_versions', async (t) => {
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  cp.setResources(CDS_TYPE_URL, [
    { name: 'c1', value: cluster('c1') },
    { name: 'c2', value: cluster('c2') },
  ]);
  cp.setResource(CDS_TYPE_URL, 'c2', cluster('c2', '3s'));
  t.equal(cp.version(CDS_TYPE_URL), '2');

  const s = deltaStream(cp.target);
  t.teardown(() => s.close());
  s.send({ type_url: CDS_TYPE_URL, node: NODE, initial_resource_versions: { c1: '1', c2: '1', gone: '1' } });
  const res = await s.next();
  t.same(names(res), ['c2'], 'c1 is up to date, c2 changed');
  t.same(res.removed_resources, ['gone']);
  t.same(cp.requests[0]?.initialResourceVersions, { c1: '1', c2: '1', gone: '1' });

  // Explicit subscriptions too: only the stale one comes.
  cp.setResources(EDS_TYPE_URL, [
    { name: 'a', value: endpoints(1) },
    { name: 'b', value: endpoints(2) },
  ]);
  s.send({ type_url: EDS_TYPE_URL, resource_names_subscribe: ['a', 'b'], initial_resource_versions: { a: '1', b: '0' } });
  const eds = await s.next();
  t.same(names(eds), ['b']);

  // A first request with nothing to send is still answered (the client's init waits for it).
  s.send({ type_url: CDS_TYPE_URL + 'x', resource_names_subscribe: ['*'] });
  const empty = await s.next();
  t.same(empty.resources, []);
  t.same(empty.removed_resources, []);
});

t.test("deltaMissing: 'ignore'", async (t) => {
  const cp = await startControlPlane({ deltaMissing: 'ignore' });
  t.teardown(() => cp.stop());
  const s = deltaStream(cp.target);
  t.teardown(() => s.close());
  s.send({ type_url: EDS_TYPE_URL, resource_names_subscribe: ['ghost'] });
  const first = await s.next();
  t.same(first.removed_resources, []);
  t.same(first.resources, []);
});
