/**
 * Connects the xDS manager to the control plane named in the bootstrap:
 * `dynamic_resources.ads_config` through an `envoy_grpc` cluster (its first endpoint:
 * TCP address or Unix-socket pipe, as in Istio's bootstrap) or a `google_grpc` target.
 */
import { versionString } from '../cli/version';
import type { BootstrapModel } from '../snapshot/model';
import { AdsClient, type AdsClientOptions, type TypeStatus } from './ads/ads-client';
import type { XdsManager, XdsSubscriber } from './xds-manager';

export interface XdsTransport extends XdsSubscriber {
  readonly connected: boolean;
  status(typeUrl: string): TypeStatus;
  close(): void;
}

export function startXdsTransport(bootstrap: BootstrapModel, xds: XdsManager): XdsTransport {
  const ads = bootstrap.dynamic?.ads;
  if (!ads) throw new Error('dynamic_resources without ads_config: nothing to subscribe through');
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
  const client = new AdsClient({ target, apiType: ads.apiType, node, setNodeOnFirstMessageOnly: ads.setNodeOnFirstMessageOnly }, {
    onUpdate: (typeUrl, update) => xds.onUpdate(typeUrl, update),
    onAckSent: (typeUrl, rejected) => xds.onAckSent(typeUrl, rejected),
    onConnectionState: (connected) => xds.onConnectionState(connected),
  });
  client.start();
  return client;
}
