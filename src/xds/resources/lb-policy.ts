/**
 * The load-balancing part of `config.cluster.v3.Cluster`: `lb_policy` with its `*_lb_config`
 * and `common_lb_config`, or the typed `load_balancing_policy` (the first supported policy of
 * the list wins, as in Envoy, so a control plane can offer fallbacks).
 */
import type { LbConfigModel, LbPolicy } from '../../snapshot/model';
import { DecodeContext, typeUrlName, type ProtoObj } from './decode-context';

const LEGACY_LB: readonly LbPolicy[] = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV'];

const TYPED_LB: Record<string, LbPolicy> = {
  'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin': 'ROUND_ROBIN',
  'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest': 'LEAST_REQUEST',
  'envoy.extensions.load_balancing_policies.random.v3.Random': 'RANDOM',
  'envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash': 'RING_HASH',
  'envoy.extensions.load_balancing_policies.maglev.v3.Maglev': 'MAGLEV',
};

/** Ring sizes: defaults and the PGV bound (ring_hash.proto, cluster.proto). */
const MIN_RING_DEFAULT = 1024;
const MAX_RING_DEFAULT = 8 * 1024 * 1024;
const RING_LIMIT = 8 * 1024 * 1024;
/** Maglev table: default and the PGV bound (maglev.proto). */
const MAGLEV_DEFAULT = 65537;
const MAGLEV_LIMIT = 5000011;

export function decodeLbPolicy(c: ProtoObj, path: string, ctx: DecodeContext): { lbPolicy: LbPolicy; lbConfig: LbConfigModel } {
  const common = c.common_lb_config ?? {};
  const cfg: Mutable<LbConfigModel> = {
    choiceCount: 2,
    activeRequestBias: undefined,
    selectionMethod: 'N_CHOICES',
    minRingSize: MIN_RING_DEFAULT,
    maxRingSize: MAX_RING_DEFAULT,
    maglevTableSize: MAGLEV_DEFAULT,
    useHostnameForHashing: false,
    localityWeighted: common.locality_weighted_lb_config !== undefined,
  };
  decodeConsistentHashing(common.consistent_hashing_lb_config, `${path}.common_lb_config.consistent_hashing_lb_config`, cfg, ctx);
  if (common.zone_aware_lb_config !== undefined && cfg.localityWeighted) {
    ctx.error(`${path}.common_lb_config`, 'zone_aware_lb_config and locality_weighted_lb_config are mutually exclusive');
  }

  let lbPolicy: LbPolicy = 'ROUND_ROBIN';
  if (c.load_balancing_policy) {
    const typed = decodeTyped(c.load_balancing_policy, `${path}.load_balancing_policy`, cfg, ctx);
    if (typed) lbPolicy = typed;
  } else {
    const name = String(c.lb_policy ?? 'ROUND_ROBIN');
    if (!(LEGACY_LB as readonly string[]).includes(name)) {
      ctx.error(`${path}.lb_policy`, `lb_policy ${name} is not supported (supported: ${LEGACY_LB.join(', ')})`);
    } else {
      lbPolicy = name as LbPolicy;
    }
    const lr = c.least_request_lb_config;
    if (lr) decodeLeastRequest(lr, `${path}.least_request_lb_config`, cfg, ctx);
    if (c.round_robin_lb_config?.slow_start_config) slowStartWarning(`${path}.round_robin_lb_config.slow_start_config`, ctx);
    if (c.ring_hash_lb_config) decodeRingHash(c.ring_hash_lb_config, `${path}.ring_hash_lb_config`, cfg, ctx);
    if (c.maglev_lb_config) decodeMaglev(c.maglev_lb_config, `${path}.maglev_lb_config`, cfg, ctx);
  }
  return { lbPolicy, lbConfig: cfg };
}

function decodeTyped(p: ProtoObj, path: string, cfg: Mutable<LbConfigModel>, ctx: DecodeContext): LbPolicy | undefined {
  const policies: ProtoObj[] = p.policies ?? [];
  const seen: string[] = [];
  for (let i = 0; i < policies.length; i++) {
    const tc = policies[i]!.typed_extension_config?.typed_config;
    const type = typeUrlName(tc);
    const policy = TYPED_LB[type];
    if (!policy) {
      seen.push(type || String(policies[i]!.typed_extension_config?.name ?? '?'));
      continue;
    }
    const ppath = `${path}.policies[${i}].typed_extension_config.typed_config`;
    decodeLocalityLbConfig(tc, ppath, cfg, ctx);
    switch (policy) {
      case 'LEAST_REQUEST': decodeLeastRequest(tc, ppath, cfg, ctx); break;
      case 'ROUND_ROBIN': if (tc.slow_start_config) slowStartWarning(`${ppath}.slow_start_config`, ctx); break;
      case 'RING_HASH':
        decodeRingHash(tc, ppath, cfg, ctx);
        if (tc.use_hostname_for_hashing === true) cfg.useHostnameForHashing = true;
        if (tc.hash_balance_factor !== undefined) ctx.error(`${ppath}.hash_balance_factor`, 'bounded-load consistent hashing (hash_balance_factor) is not supported');
        decodeConsistentHashing(tc.consistent_hashing_lb_config, `${ppath}.consistent_hashing_lb_config`, cfg, ctx);
        if (tc.locality_weighted_lb_config !== undefined) cfg.localityWeighted = true;
        break;
      case 'MAGLEV':
        decodeMaglev(tc, ppath, cfg, ctx);
        decodeConsistentHashing(tc.consistent_hashing_lb_config, `${ppath}.consistent_hashing_lb_config`, cfg, ctx);
        if (tc.locality_weighted_lb_config !== undefined) cfg.localityWeighted = true;
        break;
      case 'RANDOM': break;
    }
    return policy;
  }
  ctx.error(`${path}.policies`, `none of the load-balancing policies is supported (got: ${seen.join(', ') || 'none'}; supported: ${Object.keys(TYPED_LB).join(', ')})`);
  return undefined;
}

/** The typed policies' `locality_lb_config` (a oneof: zone_aware_lb_config | locality_weighted_lb_config). */
function decodeLocalityLbConfig(tc: ProtoObj, path: string, cfg: Mutable<LbConfigModel>, ctx: DecodeContext): void {
  const l = tc.locality_lb_config;
  if (!l) return;
  if (l.locality_weighted_lb_config !== undefined) cfg.localityWeighted = true;
  else if (l.zone_aware_lb_config !== undefined) ctx.warn(`${path}.locality_lb_config.zone_aware_lb_config`, 'zone-aware routing needs a local cluster, which Legate does not have; hosts are balanced without zone preference');
}

function decodeLeastRequest(lr: ProtoObj, path: string, cfg: Mutable<LbConfigModel>, ctx: DecodeContext): void {
  if (lr.choice_count !== undefined) {
    cfg.choiceCount = Number(lr.choice_count);
    if (cfg.choiceCount < 2) ctx.error(`${path}.choice_count`, 'must be at least 2');
  }
  if (lr.active_request_bias !== undefined) {
    // A RuntimeDouble; Legate has no runtime, so the default_value is the value.
    let bias = Number(lr.active_request_bias.default_value ?? 0);
    // Envoy: a negative or NaN bias is logged and replaced by 1.0 (LeastRequestLoadBalancer::refresh).
    if (!(bias >= 0)) {
      ctx.warn(`${path}.active_request_bias`, `invalid active request bias ${bias}, using 1.0`);
      bias = 1;
    }
    cfg.activeRequestBias = bias;
  }
  if (lr.selection_method === 'FULL_SCAN' || lr.enable_full_scan === true) cfg.selectionMethod = 'FULL_SCAN';
  if (lr.slow_start_config) slowStartWarning(`${path}.slow_start_config`, ctx);
}

function decodeRingHash(r: ProtoObj, path: string, cfg: Mutable<LbConfigModel>, ctx: DecodeContext): void {
  const fn = String(r.hash_function ?? 'XX_HASH');
  if (fn !== 'XX_HASH' && fn !== 'DEFAULT_HASH') ctx.error(`${path}.hash_function`, `hash_function ${fn} is not supported (only XX_HASH)`);
  if (r.minimum_ring_size !== undefined) cfg.minRingSize = Number(r.minimum_ring_size);
  if (r.maximum_ring_size !== undefined) cfg.maxRingSize = Number(r.maximum_ring_size);
  if (cfg.minRingSize > RING_LIMIT) ctx.error(`${path}.minimum_ring_size`, `must be at most ${RING_LIMIT}`);
  if (cfg.maxRingSize > RING_LIMIT) ctx.error(`${path}.maximum_ring_size`, `must be at most ${RING_LIMIT}`);
  if (cfg.minRingSize > cfg.maxRingSize) ctx.error(path, `ring hash: minimum_ring_size (${cfg.minRingSize}) > maximum_ring_size (${cfg.maxRingSize})`);
}

function decodeMaglev(m: ProtoObj, path: string, cfg: Mutable<LbConfigModel>, ctx: DecodeContext): void {
  if (m.table_size === undefined) return;
  const n = Number(m.table_size);
  if (n > MAGLEV_LIMIT) ctx.error(`${path}.table_size`, `must be at most ${MAGLEV_LIMIT}`);
  else if (!isPrime(n)) ctx.error(`${path}.table_size`, `the table size of maglev must be a prime number (got ${n})`);
  cfg.maglevTableSize = n;
}

function decodeConsistentHashing(ch: ProtoObj | undefined, path: string, cfg: Mutable<LbConfigModel>, ctx: DecodeContext): void {
  if (!ch) return;
  if (ch.use_hostname_for_hashing === true) cfg.useHostnameForHashing = true;
  if (ch.hash_balance_factor !== undefined) ctx.error(`${path}.hash_balance_factor`, 'bounded-load consistent hashing (hash_balance_factor) is not supported');
}

function slowStartWarning(path: string, ctx: DecodeContext): void {
  ctx.warn(path, 'slow start is not implemented: new hosts get their full weight at once');
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
