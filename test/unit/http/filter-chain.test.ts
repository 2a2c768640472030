import t from 'tap';
import { compileFilterChain } from '../../../src/http/filters/filter-chain';
import { EMPTY_FILTER_CHAIN } from '../../../src/http/filters/http-filter';

const clusters = { get: () => undefined };
const HC = {
  kind: 'health_check' as const, passThroughMode: false, cacheTimeMs: 0, clusterMinHealthyPercentages: [],
  headers: [{ name: ':path', invert: false, treatMissingAsEmpty: false, match: { kind: 'string' as const, matcher: { kind: 'exact' as const, value: '/healthz', ignoreCase: false } } }],
};

t.test('a chain of only the router and no-op filters compiles to the shared empty chain', async (t) => {
  const c = compileFilterChain([{ kind: 'noop', name: 'envoy.filters.http.cors' }, { kind: 'router', suppressEnvoyHeaders: false }], { clusters });
  t.equal(c, EMPTY_FILTER_CHAIN, 'nothing to run per request');
});

t.test('filters with decode and encode steps land in both lists; encoders in reverse order', async (t) => {
  const c = compileFilterChain([{ ...HC }, { ...HC, passThroughMode: true }, { kind: 'router', suppressEnvoyHeaders: false }], { clusters });
  t.equal(c.decoders.length, 2);
  t.equal(c.encoders.length, 2);
  t.equal(c.encoders[0], c.decoders[1], 'the last filter encodes first');
  t.equal(c.encoders[1], c.decoders[0]);
  c.destroy();
});
