import t from 'tap';
import { startGrpcBackend } from '../fakes/grpc-backend';
import { createEchoClient } from '../fakes/grpc-client';
import { freePort, startLegate } from '../fakes/legate-process';
import { bootstrapText } from './bootstrap-builder';

t.test('STRICT_DNS and LOGICAL_DNS clusters resolve hostnames', async (t) => {
  const backend = await startGrpcBackend({ name: 'dns', services: ['echo'] });
  t.teardown(() => backend.stop(100));
  const adminPort = await freePort();
  const listenerPort = await freePort();
  const dnsExtra = { dns_lookup_family: 'V4_ONLY', dns_refresh_rate: '1s' };
  const proxy = await startLegate({
    configYaml: bootstrapText({
      adminPort, listenerPort,
      clusters: [
        { name: 'strict', type: 'STRICT_DNS', endpoints: [`localhost:${backend.port}`], extra: dnsExtra },
        { name: 'logical', type: 'LOGICAL_DNS', endpoints: [`localhost:${backend.port}`], extra: dnsExtra },
        { name: 'unresolvable', type: 'STRICT_DNS', endpoints: ['no-such-host.invalid:80'], extra: dnsExtra },
      ],
      routes: [
        { match: { prefix: '/', headers: [{ name: 'x-cluster', string_match: { exact: 'logical' } }] }, route: { cluster: 'logical' } },
        { match: { prefix: '/', headers: [{ name: 'x-cluster', string_match: { exact: 'unresolvable' } }] }, route: { cluster: 'unresolvable' } },
        { match: { prefix: '/' }, route: { cluster: 'strict' } },
      ],
    }),
  });
  t.teardown(() => proxy.stop());
  const client = createEchoClient(`127.0.0.1:${listenerPort}`);
  t.teardown(() => client.close());
  t.equal((await client.unary({})).response.backend, 'dns', 'STRICT_DNS');
  t.equal((await client.unary({}, { metadata: { 'x-cluster': 'logical' } })).response.backend, 'dns', 'LOGICAL_DNS');
  const none = await client.unarySettled({}, { metadata: { 'x-cluster': 'unresolvable' } });
  t.equal(none.status.details, 'no healthy upstream', 'a name that does not resolve leaves the cluster empty (UH), and the proxy still became ready');
  const clusters = (await proxy.admin('/clusters')).body;
  t.match(clusters, new RegExp(`^strict::127\\.0\\.0\\.1:${backend.port}::rq_total::1$`, 'm'), '/clusters lists the resolved host with its counters');
});
