/**
 * The ways Legate takes configuration in, called in-process so a fuzzer can push
 * thousands of inputs through them: xDS resources as proto3 JSON (file subscriptions,
 * static resources) or as protobuf bytes (ADS), and whole bootstraps.
 */
import { loadBootstrap } from '../../src/bootstrap/bootstrap';
import { installBuiltins } from '../../src/extensions/builtins';
import { lookupByTypeUrl } from '../../src/proto/envoy-protos';
import { decodeJson } from '../../src/proto/proto-json';
import { formatIssue } from '../../src/proto/proto-types';
import { decodeResponse, discoveryTypes } from '../../src/xds/ads/discovery-messages';
import { decodeSotwEntry, digest } from '../../src/xds/ads/resource-decoder';
import type { XdsTypeUrl } from '../../src/xds/ads/xds-types';
import { DecodeContext, formatIssue as formatConfigIssue, type ProtoObj } from '../../src/xds/resources/decode-context';
import { decodeXdsResource } from '../../src/xds/resources/decode-resource';

/** Outcome of feeding one input: accepted, or rejected with these errors. */
export interface Ingested {
  readonly ok: boolean;
  readonly errors: readonly string[];
}

/** Model decoding, as xds-manager validates a resource. Throws only on a decoder bug. */
function decodeModel(typeUrl: string, name: string, resource: ProtoObj): Ingested {
  const ctx = new DecodeContext();
  decodeXdsResource(typeUrl, name, resource, ctx);
  return { ok: ctx.ok, errors: ctx.errors.map((i) => `${name}: ${formatConfigIssue(i)}`) };
}

/** A resource as proto3 JSON, through Legate's JSON decoder, then the model decoders. */
export function ingestJson(typeUrl: string, name: string, json: unknown): Ingested {
  installBuiltins();
  const type = lookupByTypeUrl(typeUrl);
  if (!type) throw new Error(`no proto for ${typeUrl}`);
  const d = decodeJson(type, json);
  if (d.errors.length) return { ok: false, errors: d.errors.map((e) => `${name}: ${formatIssue(e)}`) };
  return decodeModel(typeUrl, name, d.value as ProtoObj);
}

/**
 * A resource as the bytes of an Any, sent in a SotW DiscoveryResponse: the response is
 * serialized and parsed again (as the ADS client gets it off the wire), the entry hashed
 * and decoded, then the model decoders run.
 */
export function ingestBytes(typeUrl: string, bytes: Uint8Array): Ingested {
  installBuiltins();
  const t = discoveryTypes().response;
  const wire = t.encode(t.fromObject({ version_info: '1', type_url: typeUrl, nonce: '1', resources: [{ type_url: typeUrl, value: bytes }] })).finish();
  const any = decodeResponse(wire).resources[0]!;
  digest(any.value);
  const entry = decodeSotwEntry(typeUrl as XdsTypeUrl, any, 0);
  if (entry.kind !== 'resource') return { ok: false, errors: ['a heartbeat, not a resource'] };
  const out = entry.outcome;
  if (!out.value) return { ok: false, errors: out.errors };
  return decodeModel(typeUrl, out.value.name, out.value.resource as ProtoObj);
}

/** A bootstrap as text (YAML or JSON), as `-c`/`--config-yaml` would give it. */
export function ingestBootstrap(text: string): Ingested & { readonly hasModel: boolean } {
  const r = loadBootstrap({ configYaml: text });
  return { ok: r.errors.length === 0, errors: r.errors, hasModel: r.model !== undefined };
}
