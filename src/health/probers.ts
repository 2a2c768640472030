import type { HealthCheckModel } from '../snapshot/model';
import { TcpProber } from './tcp-prober';
import type { HealthCheckedHost, Prober } from './types';

/**
 * The prober for one host. Authority / host header: the checker's own setting, else the
 * cluster name, as Envoy does (the endpoint's health_check_config.hostname is not modelled yet).
 */
// The gRPC and HTTP probers sit on node:http2 (and node:http): loaded with the first checker
// that needs them, so a sidecar without such health checks does not carry them.
let grpcProber: typeof import('./grpc-prober') | undefined;
let httpProber: typeof import('./http-prober') | undefined;

export function createProber(model: HealthCheckModel, clusterName: string, host: HealthCheckedHost): Prober {
  const c = model.checker;
  switch (c.kind) {
    case 'grpc':
      grpcProber ??= require('./grpc-prober') as typeof import('./grpc-prober');
      return new grpcProber.GrpcProber({ address: host.address, authority: c.authority || clusterName, serviceName: c.serviceName, initialMetadata: c.initialMetadata, timeoutMs: model.timeoutMs });
    case 'http':
      httpProber ??= require('./http-prober') as typeof import('./http-prober');
      return new httpProber.HttpProber(host.address, c, c.host || clusterName, model.reuseConnection);
    case 'tcp':
      return new TcpProber(host.address, c.send, c.receive);
  }
}
