/**
 * The fake ADS control plane tests run Legate against; see `control-plane.ts`.
 *
 * ```ts
 * const cp = await startControlPlane();
 * cp.applyResources(loadFixtureResources('xds-resources/weighted-90-10.clusters.yaml'));
 * // ... start Legate with an ADS bootstrap pointing at cp.host:cp.port ...
 * await cp.waitForAck(CDS_TYPE_URL);
 * await cp.stop();
 * ```
 */
export {
  ADS_SERVICE,
  CDS_TYPE_URL,
  DELTA_PATH,
  ECDS_TYPE_URL,
  EDS_TYPE_URL,
  LDS_TYPE_URL,
  PUSH_ORDER,
  RDS_TYPE_URL,
  SDS_TYPE_URL,
  SOTW_PATH,
  adsServiceDefinition,
  encodeResource,
  resourceNameOf,
  type DeltaDiscoveryRequestMessage,
  type DeltaDiscoveryResponseMessage,
  type DeltaResourceMessage,
  type DiscoveryRequestMessage,
  type DiscoveryResponseMessage,
  type EncodeResourceOptions,
  type ErrorDetailMessage,
  type ProtoJsonObject,
  type WireAny,
} from './ads-codec';
export type { ErrorDetail, RequestRecord, ResponseRecord } from './ads-stream';
export {
  ControlPlane,
  startControlPlane,
  type ControlPlaneOptions,
  type ResourceEntry,
  type StopOptions,
  type TypedResourceEntry,
} from './control-plane';
export { loadFixtureResources, resolveFixture, type FixtureResource, type LoadFixtureOptions } from './fixture-resources';
export type { VersionStyle } from './resource-store';
