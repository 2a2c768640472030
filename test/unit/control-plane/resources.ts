/**
 * Small valid resources for the control-plane tests, as proto3 JSON.
 */
import type { ProtoJsonObject } from '../../fakes/control-plane';

/** A Listener on `port` (camelCase on purpose: both spellings must work). */
export function listener(name: string, port: number): ProtoJsonObject {
  return { name, address: { socketAddress: { address: '127.0.0.1', portValue: port } } };
}

/** A RouteConfiguration sending everything to `cluster`. */
export function routeConfig(name: string, cluster: string): ProtoJsonObject {
  return {
    name,
    virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }],
  };
}

/** An EDS Cluster fed over ADS. */
export function cluster(name: string, connectTimeout = '1s'): ProtoJsonObject {
  return { name, type: 'EDS', connect_timeout: connectTimeout, eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } } };
}

/** A ClusterLoadAssignment with one endpoint on `port` (no name: the control plane fills `cluster_name`). */
export function endpoints(port: number): ProtoJsonObject {
  return { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] };
}
