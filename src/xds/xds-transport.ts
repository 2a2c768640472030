/**
 * Connects the xDS manager to the control plane named in the bootstrap:
 * `dynamic_resources.ads_config` through an `envoy_grpc` cluster (its first endpoint:
 * TCP address or Unix-socket pipe, as in Istio's bootstrap) or a `google_grpc` target; and,
 * for a per-type `api_config_source`, one stream of that type's discovery service.
 */
import { versionString } from '../cli/version';
import type { AdsConfigModel, BootstrapModel } from '../snapshot/model';
import { PER_TYPE_METHODS } from './ads/discovery-messages';
import type { AdsClientOptions, TypeStatus } from './ads/ads-client';
import type { XdsManager, XdsSubscriber } from './xds-manager';

export interface XdsTransport extends XdsSubscriber {
  readonly connected: boolean;
  status(typeUrl: string): TypeStatus;
  close(): void;
}

export function startXdsTransport(bootstrap: BootstrapModel, xds: XdsManager): XdsTransport {
  const ads = bootstrap.dynamic?.ads;
  if (!ads) throw new Error('dynamic_resources without ads_config: nothing to subscribe through');
  return startClient(bootstrap, ads, xds, undefined);
}

/**
 * A stream of one type's own discovery service (a non-aggregated `api_config_source` with
 * api_type GRPC or DELTA_GRPC), e.g. `RouteDiscoveryService/StreamRoutes`, with the same
 * protocol, reconnect and ACK/NACK handling as ADS.
 * @throws Error naming the cause when the source's cluster is unknown or has no endpoint.
 */
export function startApiSubscriber(bootstrap: BootstrapModel, api: AdsConfigModel, typeUrl: string, xds: XdsManager): XdsTransport {
  const methods = PER_TYPE_METHODS[typeUrl];
  if (!methods) throw new Error(`no per-type discovery service for ${typeUrl}`);
  return startClient(bootstrap, api, xds, methods[api.apiType]);
}

function startClient(bootstrap: BootstrapModel, ads: AdsConfigModel, xds: XdsManager, methodPath: string | undefined): XdsTransport {
  let target: AdsClientOptions['target'];
  if (ads.target.kind === 'google_grpc') {
    target = { kind: 'google_grpc', targetUri: ads.target.targetUri };
  } else {
    const name = ads.target.clusterName;
    const cluster = bootstrap.clusters.find((c) => c.name === name);
    const ep = cluster?.endpoints[0];
    if (!ep) throw new Error(`xDS cluster "${name}" has no endpoint`);
    target = ep.address.kind === 'pipe' ? { kind: 'pipe', path: ep.address.path } : { kind: 'tcp', host: ep.address.host, port: ep.address.port };
  }
  const n = bootstrap.node;
  const node: Record<string, unknown> = {
    id: n.id,
    cluster: n.cluster,
    metadata: n.metadata,
    locality: { region: n.locality.region, zone: n.locality.zone, sub_zone: n.locality.subZone },
    user_agent_name: 'legate',
    user_agent_version: versionString(),
  };
  // The ADS client (and with it grpc-js) is loaded only by bootstraps that name an xDS server.
  const { AdsClient } = require('./ads/ads-client') as typeof import('./ads/ads-client');
  const client = new AdsClient({ target, apiType: ads.apiType, node, setNodeOnFirstMessageOnly: ads.setNodeOnFirstMessageOnly, ...(methodPath ? { methodPath } : {}) }, {
    onUpdate: (typeUrl, update) => xds.onUpdate(typeUrl, update),
    onAckSent: (typeUrl, rejected) => xds.onAckSent(typeUrl, rejected),
    // control_plane.connected_state follows the ADS stream only, as in Envoy.
    ...(methodPath ? {} : { onConnectionState: (connected: boolean) => xds.onConnectionState(connected) }),
  });
  client.start();
  return client;
}
