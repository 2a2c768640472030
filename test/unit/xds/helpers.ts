/** Builders shared by the xDS apply tests: normalized resources and the models decoded from them. */
import { loadBootstrap } from '../../../src/bootstrap/bootstrap';
import type { BootstrapModel, ClusterModel } from '../../../src/snapshot/model';
import { decodeCluster, decodeLoadAssignment } from '../../../src/xds/resources/cluster';
import { DecodeContext, type ProtoObj } from '../../../src/xds/resources/decode-context';
import { adsBootstrap } from '../../integration/xds-resources';

/** A normalized STATIC cluster with one endpoint per port on 127.0.0.1 (connect_timeout in ms). */
export function staticCluster(name: string, ports: readonly number[], connectTimeoutMs = 1000): ProtoObj {
  return {
    name,
    type: 'STATIC',
    connect_timeout: connectTimeoutMs,
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })) }],
    },
  };
}

/** The model of {@link staticCluster}, through the real decoder. */
export function staticClusterModel(name: string, ports: readonly number[], connectTimeoutMs = 1000): ClusterModel {
  const ctx = new DecodeContext();
  const model = decodeCluster(staticCluster(name, ports, connectTimeoutMs), '', ctx);
  if (!ctx.ok) throw new Error(`bad test cluster: ${JSON.stringify(ctx.errors)}`);
  return model;
}

/** A normalized EDS cluster (connect_timeout in ms). */
export function edsCluster(name: string, connectTimeoutMs = 1000): ProtoObj {
  return { name, type: 'EDS', connect_timeout: connectTimeoutMs, eds_cluster_config: { service_name: name, eds_config: { ads: {} } } };
}

/** A normalized ClusterLoadAssignment with one endpoint per port on 127.0.0.1. */
export function loadAssignment(name: string, ports: readonly number[]): ProtoObj {
  return {
    cluster_name: name,
    endpoints: [{ lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })) }],
  };
}

/** The model of an EDS cluster with its endpoints, as the xDS manager hands it to the cluster manager. */
export function edsClusterModel(name: string, ports: readonly number[], connectTimeoutMs = 1000): ClusterModel {
  const ctx = new DecodeContext();
  const model = decodeCluster(edsCluster(name, connectTimeoutMs), '', ctx);
  const endpoints = decodeLoadAssignment(loadAssignment(name, ports), 'endpoints', ctx);
  if (!ctx.ok) throw new Error(`bad test cluster: ${JSON.stringify(ctx.errors)}`);
  return { ...model, endpoints };
}

/** A bootstrap with LDS and CDS over ADS and no admin (nothing binds). */
export function adsBootstrapModel(): BootstrapModel {
  const bootstrap = JSON.parse(adsBootstrap(0, 1)) as Record<string, unknown>;
  delete bootstrap['admin'];
  const loaded = loadBootstrap({ configYaml: JSON.stringify(bootstrap) });
  if (loaded.model === undefined) throw new Error(`bootstrap: ${loaded.errors.join('; ')}`);
  return loaded.model;
}

/** Spins for `ms`: synchronous work standing in for a big decode. */
export function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

/** Calls `sample` on every event-loop iteration (a 0 ms interval) until stopped; returns what it saw. */
export function sampleEachTurn<T>(sample: () => T): { readonly seen: T[]; stop(): void } {
  const seen: T[] = [];
  const timer = setInterval(() => seen.push(sample()), 0);
  return { seen, stop: () => clearInterval(timer) };
}
