/**
 * Turns the raw options into a checked {@link CaptureConfig}: every value is validated here, at
 * the edge, so the rule builder can trust its input. istio passes most values to iptables
 * unchecked and fails at `iptables-restore` time; we reject the same bad inputs earlier with a
 * message naming the flag, and accept every input istio's goldens use.
 */
import type { CaptureConfig, InboundPorts, InterceptionMode } from './capture-config';
import type { IptablesOptions } from './flags';
import { detectIpv6, type HostFacts } from './host-facts';
import { canonicalAddress, parsePrefix, separateV4V6, splitList } from './ip-prefix';

/** istio caps the include list: it becomes one rule with one match per group. */
const MAX_OWNER_GROUPS_INCLUDE = 64;

/** Result of {@link resolveCaptureConfig}. */
export interface ResolvedConfig {
  /** Present when `errors` is empty. */
  readonly config?: CaptureConfig;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

const PORT = /^([1-9][0-9]{0,4})$/;
const PORT_OR_RANGE = /^([0-9]{1,5})(:[0-9]{1,5})?$/;

function checkPort(flag: string, value: string, errors: string[]): void {
  if (!PORT.test(value) || Number(value) > 65535) errors.push(`${flag} ${JSON.stringify(value)}: expected a port number 1-65535`);
}

function checkPortList(flag: string, items: readonly string[], errors: string[]): void {
  for (const p of items) {
    const m = PORT_OR_RANGE.exec(p);
    if (!m || p.split(':').some((x) => Number(x) > 65535)) {
      errors.push(`${flag}: ${JSON.stringify(p)} is not a port or port range (N or N:M, 0-65535)`);
    }
  }
}

/** Names (users, groups, interfaces) go into rules as single words. */
function checkWords(flag: string, items: readonly string[], errors: string[]): void {
  for (const w of items) {
    if (/\s/.test(w)) errors.push(`${flag}: ${JSON.stringify(w)} contains white space (lists are comma-separated, without spaces)`);
  }
}

function checkUint32(flag: string, value: string, errors: string[]): void {
  if (!/^[0-9]+$/.test(value) || Number(value) > 0xffffffff) errors.push(`${flag} ${JSON.stringify(value)}: expected a decimal number 0-4294967295`);
}

/** istio's `ValidateIPv4LoopbackCidr`. */
function checkLoopbackCidr(value: string, errors: string[]): void {
  const p = parsePrefix(value);
  const name = 'ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR';
  if (typeof p === 'string') { errors.push(`${name}: failed to parse CIDR ${value}: ${p}`); return; }
  if (p.family !== 4 || !p.loopback) { errors.push(`${name}: expected valid IPv4 loopback address in CIDR ${value}`); return; }
  const bits = Number(value.slice(value.lastIndexOf('/') + 1));
  if (bits < 8 || bits > 32) errors.push(`${name}: expected CIDR ${value} to have mask in range [8, 32]; found ${bits}`);
}

function interceptionMode(value: string, errors: string[]): InterceptionMode {
  if (value === '' || value === 'REDIRECT') return 'REDIRECT';
  if (value === 'TPROXY') return 'TPROXY';
  errors.push(`-m/--istio-inbound-interception-mode ${JSON.stringify(value)}: expected REDIRECT or TPROXY`);
  return 'REDIRECT';
}

/**
 * Validates `o` and fills in the host facts (IPv6, nameservers, proxy uid).
 * @param o parsed options
 * @param facts the machine's facts ({@link systemHostFacts} in production)
 */
export function resolveCaptureConfig(o: Readonly<IptablesOptions>, facts: HostFacts): ResolvedConfig {
  const errors: string[] = [];
  const warnings: string[] = [];

  checkPort('-p/--envoy-port', o.envoyPort, errors);
  checkPort('-z/--inbound-capture-port', o.inboundCapturePort, errors);
  checkPort('-e/--inbound-tunnel-port', o.inboundTunnelPort, errors);
  const mode = interceptionMode(o.interceptionMode, errors);
  checkUint32('-t/--istio-inbound-tproxy-mark', o.tproxyMark, errors);
  checkUint32('-r/--istio-inbound-tproxy-route-table', o.tproxyRouteTable, errors);

  let inboundPorts: InboundPorts;
  if (o.inboundPorts === '') inboundPorts = { kind: 'none' };
  else if (o.inboundPorts === '*') inboundPorts = { kind: 'all', exclude: splitList(o.localExcludePorts) };
  else inboundPorts = { kind: 'list', ports: splitList(o.inboundPorts) };
  if (inboundPorts.kind === 'list') checkPortList('-b/--istio-inbound-ports', inboundPorts.ports, errors);
  checkPortList('-d/--istio-local-exclude-ports', splitList(o.localExcludePorts), errors);
  const outboundPortsInclude = splitList(o.outboundPorts);
  const outboundPortsExclude = splitList(o.localOutboundPortsExclude);
  checkPortList('-q/--istio-outbound-ports', outboundPortsInclude, errors);
  checkPortList('-o/--istio-local-outbound-ports-exclude', outboundPortsExclude, errors);

  const include = separateV4V6(o.serviceCidr);
  if (typeof include === 'string') errors.push(`-i/--istio-service-cidr: ${include}`);
  const exclude = separateV4V6(o.serviceExcludeCidr);
  if (typeof exclude === 'string') errors.push(`-x/--istio-service-exclude-cidr: ${exclude}`);
  else if (exclude.v4.wildcard) errors.push('-x/--istio-service-exclude-cidr: "*" is not allowed (invalid value for OUTBOUND_IP_RANGES_EXCLUDE)');

  const kubeVirtInterfaces = splitList(o.kubeVirtInterfaces);
  const excludeInterfaces = splitList(o.excludeInterfaces);
  checkWords('-k/--kube-virt-interfaces', kubeVirtInterfaces, errors);
  checkWords('-c/--istio-exclude-interfaces', excludeInterfaces, errors);

  // Owner groups (istio's ParseInterceptFilter + ValidateOwnerGroups).
  const ownerGroups = o.ownerGroupsInclude === '*'
    ? { except: true, values: splitList(o.ownerGroupsExclude) }
    : { except: false, values: splitList(o.ownerGroupsInclude) };
  checkWords('ISTIO_OUTBOUND_OWNER_GROUPS', ownerGroups.values, errors);
  if (!ownerGroups.except && ownerGroups.values.length > MAX_OWNER_GROUPS_INCLUDE) {
    errors.push(`ISTIO_OUTBOUND_OWNER_GROUPS: number of owner groups whose outgoing traffic should be redirected to Envoy cannot exceed ${MAX_OWNER_GROUPS_INCLUDE}, got ${ownerGroups.values.length}`);
  }
  checkLoopbackCidr(o.hostIpv4LoopbackCidr, errors);
  if (!['', 'legacy', 'nft'].includes(o.forceIptablesBinary)) {
    errors.push(`--force-iptables-binary ${JSON.stringify(o.forceIptablesBinary)}: expected "legacy" or "nft"`);
  }
  if (o.nativeNftables) errors.push('--native-nftables: Legate programs iptables only; drop the flag (iptables-nft writes nftables anyway)');
  if (o.runValidation) errors.push('--run-validation: not supported by legate iptables yet (it needs SO_ORIGINAL_DST); validate with the CNI\'s own istio-validation container');

  // Proxy uid/gid: -u defaults to ENVOY_USER's uid, else 1337; -g defaults to -u.
  const proxyUid = o.proxyUid !== '' ? o.proxyUid : (facts.userUid(o.envoyUser) ?? '1337');
  const proxyGid = o.proxyGid !== '' ? o.proxyGid : proxyUid;
  const proxyUids = splitList(proxyUid);
  const proxyGids = splitList(proxyGid);
  checkWords('-u/--proxy-uid', proxyUids, errors);
  checkWords('-g/--proxy-gid', proxyGids, errors);

  let ipv6 = detectIpv6(facts.localAddresses(), o.dualStack);
  if (typeof ipv6 === 'string' && o.cleanupOnly && !o.dryRun) {
    ipv6 = false; // cleanup does both families anyway (when ip6tables works)
  } else if (typeof ipv6 === 'string') {
    errors.push(`cannot tell whether the pod is IPv6: ${ipv6}`);
  }

  let dnsServersV4: string[] = [];
  let dnsServersV6: string[] = [];
  if (o.redirectDns && !o.captureAllDns) {
    try {
      for (const s of facts.nameservers()) {
        const a = canonicalAddress(s);
        if (a?.family === 4) dnsServersV4.push(a.text);
        else if (a) dnsServersV6.push(a.text);
      }
    } catch (err) {
      errors.push(`--redirect-dns: failed to load /etc/resolv.conf: ${(err as Error).message}`);
    }
  }
  let redirectDns = o.redirectDns;
  if (redirectDns && !o.captureAllDns && dnsServersV4.length === 0 && dnsServersV6.length === 0 && errors.length === 0) {
    warnings.push('REDIRECT_DNS is set, but CAPTURE_ALL_DNS is false, and no DNS servers provided. DNS capture disabled.');
    redirectDns = false;
    dnsServersV4 = [];
    dnsServersV6 = [];
  }

  if (errors.length || typeof include === 'string' || typeof exclude === 'string' || typeof ipv6 === 'string') {
    return { errors, warnings };
  }
  const config: CaptureConfig = {
    proxyPort: o.envoyPort, inboundCapturePort: o.inboundCapturePort, inboundTunnelPort: o.inboundTunnelPort,
    proxyUids, proxyGids, interceptionMode: mode, tproxyMark: o.tproxyMark, tproxyRouteTable: o.tproxyRouteTable,
    inboundPorts, outboundPortsInclude, outboundPortsExclude,
    outboundRangesInclude: include, outboundRangesExclude: exclude,
    kubeVirtInterfaces, excludeInterfaces, ownerGroups, hostIpv4LoopbackCidr: o.hostIpv4LoopbackCidr,
    redirectDns, captureAllDns: o.captureAllDns, dnsServersV4, dnsServersV6,
    dropInvalid: o.dropInvalid, enableIpv6: ipv6,
  };
  return { config, errors, warnings };
}
