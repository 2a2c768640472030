/**
 * Snapshots from the `--concurrency` primary to its workers: real config models (Istio's dumps
 * decoded as the xDS manager decodes them) survive the IPC serializer (node's advanced
 * serialization is v8's), and models a worker already holds are referenced, not resent, so the
 * worker's managers see the same objects again.
 */
import t from 'tap';
import v8 from 'node:v8';
import { isDeepStrictEqual } from 'node:util';
import { loadFixtureResources } from '../../fakes/control-plane';
import { lookupByTypeUrl } from '../../../src/proto/envoy-protos';
import { decodeJson } from '../../../src/proto/proto-json';
import { decodeXdsResource } from '../../../src/xds/resources/decode-resource';
import { DecodeContext, type ProtoObj } from '../../../src/xds/resources/decode-context';
import { TYPE } from '../../../src/xds/type-urls';
import type { ClusterModel, ListenerModel, RouteConfigModel } from '../../../src/snapshot/model';
import { listenerChains } from '../../../src/snapshot/model';
import { SnapshotDecoder, SnapshotEncoder, type AppliedSnapshot } from '../../../src/workers/snapshot-codec';

function decodeAll<T>(file: string, typeUrl: string): T[] {
  const out: T[] = [];
  for (const r of loadFixtureResources(file, { typeUrls: [typeUrl] })) {
    const proto = decodeJson(lookupByTypeUrl(typeUrl)!, r.value);
    if (proto.errors.length) continue;
    const ctx = new DecodeContext();
    const model = decodeXdsResource(typeUrl, r.name, proto.value as ProtoObj, ctx) as T;
    if (ctx.ok) out.push(model);
  }
  return out;
}

/** What node:cluster's advanced serialization does to a message. */
const overIpc = <T>(m: T): T => v8.deserialize(v8.serialize(m)) as T;

t.test('Istio models cross the IPC serializer intact, and unchanged ones are sent once', async (t) => {
  const clusters = [
    ...decodeAll<ClusterModel>('istio-config-dumps/gateway-routes-clusters.http_config.json', TYPE.cluster),
    ...decodeAll<ClusterModel>('istio-config-dumps/waypoint-full.config_dump.json', TYPE.cluster),
  ];
  const routes = decodeAll<RouteConfigModel>('istio-config-dumps/gateway-routes-clusters.http_config.json', TYPE.routeConfig);
  const listeners = decodeAll<ListenerModel>('istio-config-dumps/sidecar-listeners.configdump.yaml', TYPE.listener);
  t.ok(clusters.length >= 3 && routes.length > 0 && listeners.length > 5, `decoded ${clusters.length} clusters, ${routes.length} routes, ${listeners.length} listeners`);
  const specs = listeners.map((model) => ({ model, routeConfigs: listenerChains(model).map((fc) => (fc.hcm ? routes[0] : undefined)) }));
  const snapshot: AppliedSnapshot = { clusters, warmHealthChecked: false, listeners: specs };

  const encoder = new SnapshotEncoder();
  const decoder = new SnapshotDecoder();
  const first = overIpc(encoder.encode(snapshot));
  const got = decoder.decode(first);
  t.ok(isDeepStrictEqual(got.clusters, clusters), 'clusters equal after the round trip (bigint, Set, Buffer included)');
  t.ok(isDeepStrictEqual(got.listeners.map((l) => l.model), listeners), 'listeners equal after the round trip');
  t.ok(got.listeners.filter((l) => l.routeConfigs.some((r) => r !== undefined)).every((l) => l.routeConfigs.find((r) => r !== undefined) === got.listeners.find((x) => x.routeConfigs.some((r) => r))!.routeConfigs.find((r) => r)), 'a route config shared by listeners is one object in the worker');

  // The next snapshot changes one cluster (a new endpoints list) and nothing else.
  const changed = { ...clusters[0]!, endpoints: [] };
  const second = overIpc(encoder.encode({ ...snapshot, clusters: [changed, ...clusters.slice(1)] }));
  t.ok(second.clusters[0]!.v !== undefined, 'the changed cluster is sent');
  t.equal(second.clusters.slice(1).filter((r) => r.v !== undefined).length, 0, 'unchanged clusters are referenced');
  t.equal(second.listeners.filter((l) => l.model.v !== undefined).length, 0, 'unchanged listeners are referenced');
  t.ok(v8.serialize(second).length < v8.serialize(first).length / 3, `the second message is small (${v8.serialize(second).length} vs ${v8.serialize(first).length} bytes)`);
  const got2 = decoder.decode(second);
  t.same(got2.clusters[0]!.endpoints, []);
  t.equal(got2.clusters[1], got.clusters[1], 'the worker gets the very object it already had');
  t.equal(got2.listeners[0]!.model, got.listeners[0]!.model, 'listener models keep their identity (no rebuild in the worker)');

  // A fresh worker (restarted) has nothing: its encoder sends everything.
  const fresh = new SnapshotEncoder().encode(snapshot);
  t.equal(fresh.clusters.filter((r) => r.v === undefined).length, 0, 'a new worker gets every model');
  t.throws(() => new SnapshotDecoder().decode(overIpc(second)), /refers to model #\d+, which this worker does not hold/, 'a reference the worker cannot resolve is an error, never a silent gap');
});
