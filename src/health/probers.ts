import type { HealthCheckModel } from '../snapshot/model';
import { GrpcProber } from './grpc-prober';
import { HttpProber } from './http-prober';
import { TcpProber } from './tcp-prober';
import type { HealthCheckedHost, Prober } from './types';

/**
 * The prober for one host. Authority / host header: the checker's own setting, else the
 * cluster name, as Envoy does (the endpoint's health_check_config.hostname is not modelled yet).
 */
export function createProber(model: HealthCheckModel, clusterName: string, host: HealthCheckedHost): Prober {
  const c = model.checker;
  switch (c.kind) {
    case 'grpc':
      return new GrpcProber({ address: host.address, authority: c.authority || clusterName, serviceName: c.serviceName, initialMetadata: c.initialMetadata, timeoutMs: model.timeoutMs });
    case 'http':
      return new HttpProber(host.address, c, c.host || clusterName, model.reuseConnection);
    case 'tcp':
      return new TcpProber(host.address, c.send, c.receive);
  }
}
