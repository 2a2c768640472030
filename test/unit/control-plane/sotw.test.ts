import t from 'tap';
import { CDS_TYPE_URL, EDS_TYPE_URL, LDS_TYPE_URL, RDS_TYPE_URL, startControlPlane } from '../../fakes/control-plane';
import { decodeResource, namesOf, sotwStream } from './ads-test-client';
import { cluster, endpoints, listener, routeConfig } from './resources';

const NODE = { id: 'sidecar~10.0.0.1~consumer-1.demo~demo.svc.cluster.local', cluster: 'consumer.demo', metadata: { ISTIO_VERSION: '1.22.0' } };

t.test('LDS wildcard: first response, ACK, push on change, NACK', async (t) => {
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  cp.setResources(LDS_TYPE_URL, [
    { name: 'l1', value: listener('l1', 10001) },
    { name: 'l2', value: listener('l2', 10002) },
  ]);
  t.equal(cp.version(LDS_TYPE_URL), '1');

  const s = sotwStream(cp.target);
  t.teardown(() => s.close());
  s.send({ type_url: LDS_TYPE_URL, node: NODE });
  const first = await s.next();
  t.equal(first.type_url, LDS_TYPE_URL);
  t.equal(first.version_info, '1');
  t.not(first.nonce, '', 'nonce set');
  t.equal(first.control_plane?.identifier, 'legate-fake-control-plane');
  t.same(namesOf(first), ['l1', 'l2'], 'wildcard: the whole set');
  t.match(decodeResource(first.resources[0]!), { '@type': LDS_TYPE_URL, address: { socket_address: { port_value: 10001 } } });
  t.equal(cp.lastNode?.['id'], NODE.id, 'node recorded');
  t.same(cp.lastNode?.['metadata'], NODE.metadata, 'node metadata as a plain object');
  t.match(cp.requests[0], { stream: 1, kind: 'sotw', typeUrl: LDS_TYPE_URL, versionInfo: '', responseNonce: '', resourceNames: [], stale: false });
  t.equal(cp.connectedStreams, 1);

  // ACK: nothing more is sent.
  s.send({ type_url: LDS_TYPE_URL, version_info: '1', response_nonce: first.nonce });
  const ack = await cp.waitForAck(LDS_TYPE_URL, '1');
  t.equal(ack.responseNonce, first.nonce);
  t.equal(ack.node, undefined, 'no node on later requests');
  await s.nothingFor();

  // A change pushes the complete set at a new version and nonce.
  t.equal(cp.setResource(LDS_TYPE_URL, 'l3', listener('l3', 10003)), '2');
  const pushed = await s.next();
  t.equal(pushed.version_info, '2');
  t.not(pushed.nonce, first.nonce);
  t.same(namesOf(pushed), ['l1', 'l2', 'l3']);
  s.send({ type_url: LDS_TYPE_URL, version_info: '2', response_nonce: pushed.nonce });
  await cp.waitForAck(LDS_TYPE_URL);

  // Removal: LDS responses carry the whole set, so the removed one is just absent.
  cp.removeResource(LDS_TYPE_URL, 'l1');
  const afterRemove = await s.next();
  t.equal(afterRemove.version_info, '3');
  t.same(namesOf(afterRemove), ['l2', 'l3']);
  t.equal(cp.removeResource(LDS_TYPE_URL, 'nope'), '3', 'removing a missing name changes nothing');
  s.send({ type_url: LDS_TYPE_URL, version_info: '3', response_nonce: afterRemove.nonce });
  await cp.waitForAck(LDS_TYPE_URL, '3');

  // Malformed bytes: served verbatim; the client NACKs; no re-send after the NACK.
  const garbage = Buffer.from([0x0a, 0xff, 0x01]); // field 1, length 255, 1 byte: truncated
  cp.setRawResource(LDS_TYPE_URL, 'bad', garbage);
  const bad = await s.next();
  t.equal(bad.version_info, '4');
  t.same(Buffer.from(bad.resources[2]!.value), garbage, 'raw bytes sent as given');
  t.equal(bad.resources[2]!.type_url, LDS_TYPE_URL);
  s.send({ type_url: LDS_TYPE_URL, version_info: '3', response_nonce: bad.nonce, error_detail: { code: 3, message: 'listener bad: truncated' } });
  const detail = await cp.waitForNack(LDS_TYPE_URL);
  t.same(detail, { code: 3, message: 'listener bad: truncated' });
  await s.nothingFor();
  t.match(cp.requests.at(-1), { versionInfo: '3', responseNonce: bad.nonce, errorDetail: { code: 3 } });

  // A stale nonce is recorded and ignored.
  s.send({ type_url: LDS_TYPE_URL, version_info: '3', response_nonce: first.nonce });
  await cp.waitForRequest((r) => r.stale);
  await s.nothingFor();

  // Fixing the resource pushes again, and the ACK is matched by version.
  cp.removeResource(LDS_TYPE_URL, 'bad');
  const fixed = await s.next();
  t.equal(fixed.version_info, '5');
  s.send({ type_url: LDS_TYPE_URL, version_info: '5', response_nonce: fixed.nonce });
  await cp.waitForAck(LDS_TYPE_URL, '5');
  t.same(
    cp.responses.map((r) => r.version),
    ['1', '2', '3', '4', '5'],
  );
});

t.test('RDS: only requested names that exist; pushes only for subscribed names', async (t) => {
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  cp.setResources(RDS_TYPE_URL, [
    { name: 'r1', value: routeConfig('r1', 'c1') },
    { name: 'r2', value: routeConfig('r2', 'c2') },
    { name: 'r3', value: routeConfig('r3', 'c3') },
  ]);
  const s = sotwStream(cp.target);
  t.teardown(() => s.close());
  s.send({ type_url: RDS_TYPE_URL, resource_names: ['r3', 'r1', 'missing'], node: NODE });
  const first = await s.next();
  t.same(namesOf(first).sort(), ['r1', 'r3']);
  s.send({ type_url: RDS_TYPE_URL, resource_names: ['r3', 'r1', 'missing'], version_info: first.version_info, response_nonce: first.nonce });
  await cp.waitForAck(RDS_TYPE_URL);

  cp.setResource(RDS_TYPE_URL, 'r2', routeConfig('r2', 'other'));
  await s.nothingFor(200);
  t.equal(cp.responses.length, 1, 'a change to an unsubscribed name is not pushed');

  cp.setResource(RDS_TYPE_URL, 'r3', routeConfig('r3', 'other'));
  const pushed = await s.next();
  t.equal(pushed.version_info, '3');
  t.same(namesOf(pushed).sort(), ['r1', 'r3']);
  t.match(decodeResource(pushed.resources.find((a) => decodeResource(a)['name'] === 'r3')!), {
    virtual_hosts: [{ routes: [{ route: { cluster: 'other' } }] }],
  });

  // New names in an ACK: answered with the newly subscribed resource included.
  s.send({ type_url: RDS_TYPE_URL, resource_names: ['r1', 'r2', 'r3'], version_info: '3', response_nonce: pushed.nonce });
  const widened = await s.next();
  t.same(namesOf(widened).sort(), ['r1', 'r2', 'r3']);
  // Dropping names: no response needed.
  s.send({ type_url: RDS_TYPE_URL, resource_names: ['r1'], version_info: '3', response_nonce: widened.nonce });
  await s.nothingFor(200);

  // A subscribed name that appears later is pushed.
  s.send({ type_url: RDS_TYPE_URL, resource_names: ['r1', 'late'], version_info: '3', response_nonce: widened.nonce });
  await s.nothingFor(200);
  cp.setResource(RDS_TYPE_URL, 'late', routeConfig('late', 'c9'));
  t.same(namesOf(await s.next()).sort(), ['late', 'r1']);
});

t.test('EDS and CDS on one stream: independent versions and nonces; empty first answers', async (t) => {
  const cp = await startControlPlane({ versionStyle: 'istio' });
  t.teardown(() => cp.stop());
  cp.setResources(CDS_TYPE_URL, [{ name: 'c1', value: cluster('c1') }]);
  const s = sotwStream(cp.target);
  t.teardown(() => s.close());
  s.send({ type_url: CDS_TYPE_URL, node: NODE });
  const cds = await s.next();
  t.match(cds.version_info, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\/1$/, "istiod's version format");
  s.send({ type_url: EDS_TYPE_URL, resource_names: ['c1'] });
  const eds = await s.next();
  t.equal(eds.type_url, EDS_TYPE_URL);
  t.same(eds.resources, [], 'first request answered even when nothing exists yet');
  t.match(eds.version_info, /\/0$/);
  s.send({ type_url: CDS_TYPE_URL, version_info: cds.version_info, response_nonce: cds.nonce });
  s.send({ type_url: EDS_TYPE_URL, resource_names: ['c1'], version_info: eds.version_info, response_nonce: eds.nonce });
  await cp.waitForAck(EDS_TYPE_URL);
  await cp.waitForAck(CDS_TYPE_URL);

  cp.setResource(EDS_TYPE_URL, 'c1', endpoints(9001));
  const pushed = await s.next();
  t.equal(pushed.type_url, EDS_TYPE_URL);
  t.match(decodeResource(pushed.resources[0]!), { cluster_name: 'c1', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { port_value: 9001 } } } }] }] });
  await s.nothingFor(200);
  t.same(
    cp.responses.map((r) => r.typeUrl),
    [CDS_TYPE_URL, EDS_TYPE_URL, EDS_TYPE_URL],
    'the EDS change did not touch CDS',
  );
});

t.test('response delay and pause', async (t) => {
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  cp.setResources(CDS_TYPE_URL, [{ name: 'c1', value: cluster('c1') }]);
  cp.setResponseDelayMs(300, CDS_TYPE_URL);
  const s = sotwStream(cp.target);
  t.teardown(() => s.close());
  const started = Date.now();
  s.send({ type_url: CDS_TYPE_URL, node: NODE });
  // A change during the delay is folded into the delayed response.
  cp.setResource(CDS_TYPE_URL, 'c2', cluster('c2'));
  const res = await s.next();
  t.ok(Date.now() - started >= 280, `delayed (${Date.now() - started} ms)`);
  t.equal(res.version_info, '2');
  t.same(namesOf(res), ['c1', 'c2']);
  s.send({ type_url: CDS_TYPE_URL, version_info: '2', response_nonce: res.nonce });
  cp.setResponseDelayMs(0, CDS_TYPE_URL);

  cp.pause(CDS_TYPE_URL);
  cp.setResource(CDS_TYPE_URL, 'c3', cluster('c3'));
  cp.setResource(CDS_TYPE_URL, 'c4', cluster('c4'));
  await s.nothingFor(200);
  cp.resume(CDS_TYPE_URL);
  const resumed = await s.next();
  t.equal(resumed.version_info, '4', 'one response with the latest state');
  t.same(namesOf(resumed), ['c1', 'c2', 'c3', 'c4']);
});

t.test('encoding: camelCase, @type, invalid values', async (t) => {
  const cp = await startControlPlane();
  t.teardown(() => cp.stop());
  t.throws(() => cp.setResource(CDS_TYPE_URL, 'x', { name: 'x', conect_timeout: '1s' }), /unknown field "conect_timeout"/);
  t.throws(() => cp.setResource(CDS_TYPE_URL, 'x', { '@type': LDS_TYPE_URL, name: 'x' }), /declares "@type"/);
  t.throws(() => cp.setResource('type.googleapis.com/example.Unknown', 'x', {}), /use raw bytes/);
  t.equal(cp.version(CDS_TYPE_URL), '0', 'failed sets change nothing');
  // PGV violation served on purpose, for NACK tests.
  t.throws(() => cp.setResource(CDS_TYPE_URL, 'x', cluster('x', '-1s')), /connect_timeout/);
  t.equal(cp.setResource(CDS_TYPE_URL, 'x', cluster('x', '-1s'), { allowInvalid: true }), '1');
  t.equal(cp.setResource(CDS_TYPE_URL, 'y', { '@type': CDS_TYPE_URL, name: 'y', connectTimeout: '2s', type: 'STATIC' }), '2');
  t.throws(() => cp.setResources(CDS_TYPE_URL, [{ name: 'd', value: cluster('d') }, { name: 'd', value: cluster('d') }]), /duplicate/);
});
