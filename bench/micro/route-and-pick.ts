/**
 * Micro-benchmark: the two per-request lookups of the router, in isolation.
 *
 * 1. Route lookup (`RouteTable.match`) in a RouteConfiguration of 1,000 virtual hosts × 10
 *    routes, shaped like istiod's (exact domains, with a tenth of the virtual hosts on
 *    `*.suffix` wildcards, `ignore_port_in_host_matching`, a `*` catch-all):
 *    - best case: exact host with a port, first route (`prefix: /`);
 *    - header-matched route: exact host, the request carries `x-user: admin`, which the first
 *      route matches (`string_match.exact`);
 *    - last route: exact host, the request only matches the tenth route (nine header/path
 *      matchers fail first);
 *    - worst-case host: a host in no virtual host, so the exact map misses and all 100 suffix
 *      wildcards are scanned before the catch-all.
 * 2. One pick (`Cluster.pick`, the real picker built from a real STATIC cluster) over 100
 *    endpoints for each policy: ROUND_ROBIN (equal and unequal weights), LEAST_REQUEST (equal:
 *    power of two choices; unequal: EDF on weight / (active+1)), RANDOM, RING_HASH and MAGLEV
 *    (with a request hash), and the route hash itself (`computeRequestHash`, header policy).
 *
 * Each case runs `--iterations` calls per round (after a warm-up round), `--rounds` rounds;
 * the table shows the median round's ns/op and the best one. The result section is appended
 * to bench/RESULTS.md unless `--no-append`.
 *
 *   npx tsc -p . && node dist/bench/micro/route-and-pick.js [--iterations 200000] [--rounds 7] [--no-append]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { setLevel } from '../../src/common/logger';
import { RouteTable } from '../../src/router/route-table';
import { compileHashPolicy, computeRequestHash } from '../../src/router/hash-policy';
import { DecodeContext, formatIssue } from '../../src/xds/resources/decode-context';
import { decodeRouteConfig } from '../../src/xds/resources/route-config';
import { decodeCluster } from '../../src/xds/resources/cluster';
import { decodeHashPolicies } from '../../src/xds/resources/hash-policy';
import { Cluster } from '../../src/upstream/cluster';
import type { PickContext } from '../../src/upstream/pickers/types';

const { values: args } = parseArgs({
  options: {
    iterations: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '7' },
    'no-append': { type: 'boolean', default: false },
  },
});
const ITERATIONS = Number(args.iterations);
const ROUNDS = Number(args.rounds);

interface Result {
  readonly name: string;
  readonly medianNs: number;
  readonly bestNs: number;
  /** Median of the rounds' process CPU time per call (less sensitive to a busy machine than wall time). */
  readonly cpuNs: number;
}

/** Runs `fn` ITERATIONS times per round; a warm-up round first. `fn` returns something so the call is not dead code. */
function measure(name: string, fn: (i: number) => unknown): Result {
  let sink = 0;
  const cpu: number[] = [];
  const round = (): number => {
    const c = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) if (fn(i) !== undefined) sink++;
    const wall = Number(process.hrtime.bigint() - start) / ITERATIONS;
    const u = process.cpuUsage(c);
    cpu.push(((u.user + u.system) * 1000) / ITERATIONS);
    return wall;
  };
  round();
  cpu.length = 0;
  const ns: number[] = [];
  for (let r = 0; r < ROUNDS; r++) ns.push(round());
  ns.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  if (sink < 0) console.log(sink);
  return { name, medianNs: ns[Math.floor(ns.length / 2)]!, bestNs: ns[0]!, cpuNs: cpu[Math.floor(cpu.length / 2)]! };
}

function check(ctx: DecodeContext, what: string): void {
  if (!ctx.ok) throw new Error(`${what}: ${ctx.errors.map(formatIssue).join('; ')}`);
}

// === Route lookup ===

const VHOSTS = 1000;
const ROUTES = 10;

function routeTable(): RouteTable {
  const vhosts: unknown[] = [];
  for (let v = 0; v < VHOSTS; v++) {
    const name = `svc-${v}.ns-${v % 37}.svc.cluster.local`;
    const domains = v % 10 === 9 ? [`*.wild-${v}.example.com`] : [name, `svc-${v}`, `svc-${v}.ns-${v % 37}`, `10.${v >> 8}.${v & 255}.1`];
    const routes: unknown[] = [];
    for (let r = 0; r < ROUTES - 1; r++) {
      routes.push({
        match: r === 0
          ? { prefix: '/', headers: [{ name: 'x-user', string_match: { exact: 'admin' } }] }
          : { prefix: `/api.v${r}.Service/`, headers: [{ name: 'x-version', string_match: { prefix: `v${r}` } }] },
        route: { cluster: `outbound|80|v${r}|${name}`, timeout: '0s' },
      });
    }
    routes.push({ match: { prefix: '/' }, route: { cluster: `outbound|80||${name}`, timeout: '0s' } });
    vhosts.push({ name: `${name}:80`, domains, routes });
  }
  vhosts.push({ name: 'allow_any', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'PassthroughCluster' } }] });
  const ctx = new DecodeContext();
  const model = decodeRouteConfig({ name: '80', virtual_hosts: vhosts, ignore_port_in_host_matching: true }, 'rc', ctx);
  check(ctx, 'route configuration');
  return new RouteTable(model);
}

function routeCases(): Result[] {
  const rt = routeTable();
  const host = 'svc-500.ns-19.svc.cluster.local:80';
  const plain = { ':path': '/pkg.Service/Method', 'content-type': 'application/grpc' };
  const admin = { ...plain, 'x-user': 'admin' };
  const expect = (authority: string, headers: Record<string, string>, cluster: string): void => {
    const e = rt.match(authority, headers[':path']!, headers);
    const got = e?.route.action.kind === 'route' && e.route.action.cluster.kind === 'cluster' ? e.route.action.cluster.name : '?';
    if (got !== cluster) throw new Error(`route lookup for ${authority}: got ${got}, expected ${cluster}`);
  };
  expect(host, admin, 'outbound|80|v0|svc-500.ns-19.svc.cluster.local');
  expect(host, plain, 'outbound|80||svc-500.ns-19.svc.cluster.local');
  expect('unknown.example.org:80', plain, 'PassthroughCluster');
  // Best case: the first route matches on its path alone (a vhost whose first route is `prefix: /`).
  const best = new RouteTable({ ...rt.model, virtualHosts: rt.model.virtualHosts.map((v) => ({ ...v, routes: v.routes.slice(ROUTES - 1) })) });
  return [
    measure('route: exact host, first route (prefix /)', () => best.match(host, '/pkg.Service/Method', plain)),
    measure('route: exact host, header-matched first route', () => rt.match(host, '/pkg.Service/Method', admin)),
    measure(`route: exact host, ${ROUTES}th route after ${ROUTES - 1} misses`, () => rt.match(host, '/pkg.Service/Method', plain)),
    measure('route: unknown host (100 wildcard scans) → catch-all', () => rt.match('unknown.example.org:80', '/pkg.Service/Method', plain)),
  ];
}

// === Picks ===

const ENDPOINTS = 100;

function cluster(lbPolicy: string, weighted: boolean): Cluster {
  const lbEndpoints = Array.from({ length: ENDPOINTS }, (_, i) => ({
    endpoint: { address: { socket_address: { address: `10.0.${i >> 8}.${(i & 255) + 1}`, port_value: 8080 } } },
    load_balancing_weight: weighted ? 1 + (i % 5) : 1,
  }));
  const ctx = new DecodeContext();
  const model = decodeCluster({ name: `c-${lbPolicy}`, type: 'STATIC', lb_policy: lbPolicy, load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: lbEndpoints }] } }, 'cluster', ctx);
  check(ctx, `cluster ${lbPolicy}`);
  return new Cluster(model);
}

function pickCases(): Result[] {
  const out: Result[] = [];
  const hashes: PickContext[] = Array.from({ length: 1024 }, (_, i) => ({ hash: BigInt(i) * 0x9e3779b97f4a7c15n & 0xffffffffffffffffn }));
  const cases: Array<[string, string, boolean, boolean]> = [
    ['ROUND_ROBIN, equal weights', 'ROUND_ROBIN', false, false],
    ['ROUND_ROBIN, weights 1-5 (EDF)', 'ROUND_ROBIN', true, false],
    ['LEAST_REQUEST, equal weights (P2C)', 'LEAST_REQUEST', false, false],
    ['LEAST_REQUEST, weights 1-5 (EDF)', 'LEAST_REQUEST', true, false],
    ['RANDOM', 'RANDOM', false, false],
    ['RING_HASH (1024-entry ring min), with a hash', 'RING_HASH', false, true],
    ['MAGLEV (65537 table), with a hash', 'MAGLEV', false, true],
  ];
  for (const [name, policy, weighted, hashed] of cases) {
    const c = cluster(policy, weighted);
    if (!c.pick(hashed ? hashes[0] : undefined)) throw new Error(`${name}: no host picked`);
    out.push(measure(`pick: ${name}`, hashed ? (i) => c.pick(hashes[i & 1023]) : () => c.pick()));
    c.destroy();
  }
  const ctx = new DecodeContext();
  const policy = compileHashPolicy(decodeHashPolicies([{ header: { header_name: 'x-user' } }], 'hash_policy', ctx))!;
  check(ctx, 'hash policy');
  const users = Array.from({ length: 1024 }, (_, i) => ({ 'x-user': `user-${i}` }));
  out.push(measure('route hash: header x-user (xxHash64)', (i) => computeRequestHash(policy, users[i & 1023]!, '10.0.0.1:1234')));
  return out;
}

// === Report ===

function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'} ×${cpus.length} (load ${os.loadavg()[0]!.toFixed(1)} at start), node ${process.version}`;
}

function main(): void {
  setLevel('error');
  const header = machine();
  const results = [...routeCases(), ...pickCases()];
  const lines = [
    '',
    `## Route lookup and host pick, per request (${new Date().toISOString().slice(0, 10)}, ${header})`,
    '',
    `\`node dist/bench/micro/route-and-pick.js --iterations ${ITERATIONS} --rounds ${ROUNDS}\`: ${VHOSTS} virtual hosts × ${ROUTES} routes; ${ENDPOINTS} endpoints per cluster. Median and best of ${ROUNDS} rounds of ${ITERATIONS} calls, after a warm-up round.`,
    '',
    '| case | median ns/op | best ns/op | CPU ns/op (median) |',
    '|---|---:|---:|---:|',
    ...results.map((r) => `| ${r.name} | ${r.medianNs.toFixed(0)} | ${r.bestNs.toFixed(0)} | ${r.cpuNs.toFixed(0)} |`),
    '',
  ];
  const text = lines.join('\n');
  process.stdout.write(text + '\n');
  if (!args['no-append']) fs.appendFileSync(path.join(__dirname, '..', '..', '..', 'bench', 'RESULTS.md'), text);
}

main();
