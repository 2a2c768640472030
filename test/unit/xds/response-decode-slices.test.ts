/**
 * decodeResponseInSlices gives what the one-shot protobufjs decoders give, over several turns
 * for a big response, and fails on the same bytes.
 */
import t from 'tap';
import { TimeSlicer, sliceTurns } from '../../../src/common/time-slices';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS } from '../../../src/xds/ads';
import { decodeDeltaResponse, decodeResponse, decodeResponseInSlices, discoveryTypes } from '../../../src/xds/ads/discovery-messages';
import { anyOf, loadAssignment } from '../xds-ads/ads-test-server';

const N = 300;
const anys = Array.from({ length: N }, (_, i) => anyOf(EDS, loadAssignment(`c${i}`, 8000 + i)));

function encoded(delta: boolean, message: Record<string, unknown>): Buffer {
  const type = delta ? discoveryTypes().deltaResponse : discoveryTypes().response;
  return Buffer.from(type.encode(type.fromObject(message)).finish());
}

/** JSON with byte fields as base64, for deep comparison. */
function plain(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('base64') : v));
}

t.test('SotW: same result as the one-shot decoder, over several turns', async (t) => {
  const bytes = encoded(false, { version_info: 'v1', type_url: EDS, nonce: 'n1', control_plane: { identifier: 'cp-1' }, resources: anys });
  const turns = sliceTurns();
  const sliced = await decodeResponseInSlices(false, bytes, new TimeSlicer(0));
  t.ok(sliceTurns() - turns >= N / 2, 'it yielded as the slicer asked');
  t.equal(plain(sliced), plain(decodeResponse(bytes)));
  t.equal(sliced.resources.length, N);
});

t.test('delta: same result, removals and wrappers included', async (t) => {
  const bytes = encoded(true, {
    system_version_info: 's1', type_url: EDS, nonce: 'n2', removed_resources: ['x', 'y'], removed_resource_names: [{ name: 'z' }],
    resources: anys.map((resource, i) => ({ name: `c${i}`, version: String(i), resource, aliases: i === 0 ? ['alias'] : [] })),
  });
  t.equal(plain(await decodeResponseInSlices(true, bytes, new TimeSlicer())), plain(decodeDeltaResponse(bytes)));
});

t.test('unknown top-level fields are skipped; repeated singular fields keep the last value', async (t) => {
  const base = encoded(false, { version_info: 'v1', type_url: EDS, nonce: 'n1', resources: anys.slice(0, 2) });
  // field 99 (varint 7), then version_info again ("v2"): the last one wins.
  const extra = Buffer.from([0x98, 0x06, 0x07, 0x0a, 0x02, 0x76, 0x32]);
  const bytes = Buffer.concat([base, extra]);
  const sliced = await decodeResponseInSlices(false, bytes, new TimeSlicer());
  t.equal(plain(sliced), plain(decodeResponse(bytes)));
  t.equal(sliced.version_info, 'v2');
});

t.test('truncated or garbage bytes reject, as the one-shot decoder throws', async (t) => {
  const bytes = encoded(false, { version_info: 'v1', type_url: EDS, nonce: 'n1', resources: anys.slice(0, 5) });
  const truncated = bytes.subarray(0, bytes.length - 3);
  t.throws(() => decodeResponse(truncated));
  await t.rejects(decodeResponseInSlices(false, truncated, new TimeSlicer()));
  await t.rejects(decodeResponseInSlices(false, Buffer.from([0xff, 0xff, 0xff]), new TimeSlicer()));
});
