/** xDS v3 resource type URLs. */
export const TYPE = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  routeConfig: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoints: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;

export type KnownTypeUrl = (typeof TYPE)[keyof typeof TYPE];
