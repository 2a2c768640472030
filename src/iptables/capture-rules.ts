/**
 * The capture rules, in istio's order: a port of `IptablesConfigurator.Run` from
 * `istio/istio:tools/istio-iptables/pkg/capture/run.go` (read for the facts; the order of the
 * calls below is the order of the rules in the output and must not change).
 */
import type { CaptureConfig } from './capture-config';
import { addDnsRules } from './dns-rules';
import type { NetworkRange } from './ip-prefix';
import { IP_VERSION_SPECIFIC as IP, RuleSet } from './rule-set';

/** Packets the proxy sends to the app over the pod IP in TPROXY mode (istio's `OutboundMark`). */
export const OUTBOUND_MARK = '1338';
/** Source address of the proxy's inbound passthrough connections (Envoy's `upstream_bind_config`). */
const INBOUND_PASSTHROUGH_V4 = '127.0.0.6/32';
const INBOUND_PASSTHROUGH_V6 = '::6/128';
const LOOPBACK_V6 = '::1/128';

/** Builds every rule for `c`. Pure: the same config always gives the same rules. */
export function buildCaptureRules(c: CaptureConfig): RuleSet {
  const b = new RuleSet(c.enableIpv6);
  const tproxy = c.interceptionMode === 'TPROXY';
  const loopV4 = c.hostIpv4LoopbackCidr;

  // Excluded NICs: neither direction is touched.
  for (const nic of c.excludeInterfaces) {
    b.append('PREROUTING', 'nat', '-i', nic, '-j', 'RETURN');
    b.append('OUTPUT', 'nat', '-o', nic, '-j', 'RETURN');
  }
  if (tproxy) {
    for (const nic of c.excludeInterfaces) {
      b.append('PREROUTING', 'mangle', '-i', nic, '-j', 'RETURN');
      b.append('OUTPUT', 'mangle', '-o', nic, '-j', 'RETURN');
    }
  }
  // Virtual interfaces are not inbound; the outbound jump for them is inserted further down.
  for (const itf of c.kubeVirtInterfaces) b.insert('PREROUTING', 'nat', 1, '-i', itf, '-j', 'RETURN');

  if (c.dropInvalid) {
    b.append('PREROUTING', 'mangle', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'ISTIO_DROP');
    b.append('ISTIO_DROP', 'mangle', '-j', 'DROP');
  }

  b.append('ISTIO_INBOUND', 'nat', '-p', 'tcp', '--dport', c.inboundTunnelPort, '-j', 'RETURN');
  b.append('ISTIO_REDIRECT', 'nat', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', c.proxyPort);
  b.append('ISTIO_IN_REDIRECT', 'nat', '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', c.inboundCapturePort);

  addInboundRules(b, c);

  b.append('OUTPUT', 'nat', '-j', 'ISTIO_OUTPUT');
  // Port exclusions come before anything that could send the connection back to ourselves.
  for (const port of c.outboundPortsExclude) {
    b.append('ISTIO_OUTPUT', 'nat', '-p', 'tcp', '--dport', port, '-j', 'RETURN');
    b.append('ISTIO_OUTPUT', 'nat', '-p', 'udp', '--dport', port, '-j', 'RETURN');
  }
  b.appendVersioned(INBOUND_PASSTHROUGH_V4, INBOUND_PASSTHROUGH_V6, 'ISTIO_OUTPUT', 'nat', '-o', 'lo', '-s', IP, '-j', 'RETURN');

  const loopbackIncluded = c.outboundRangesInclude.v4.hasLoopback || c.outboundRangesInclude.v6.hasLoopback;
  for (const uid of c.proxyUids) {
    // app → VIP → proxy (outbound) → own pod: back into the inbound listener.
    if (c.redirectDns) {
      b.appendVersioned(loopV4, LOOPBACK_V6, 'ISTIO_OUTPUT', 'nat', '-o', 'lo', '!', '-d', IP, '-p', 'tcp',
        '-m', 'multiport', '!', '--dports', `53,${c.inboundTunnelPort}`, '-m', 'owner', '--uid-owner', uid, '-j', 'ISTIO_IN_REDIRECT');
    } else {
      b.appendVersioned(loopV4, LOOPBACK_V6, 'ISTIO_OUTPUT', 'nat', '-o', 'lo', '!', '-d', IP, '-p', 'tcp',
        '!', '--dport', c.inboundTunnelPort, '-m', 'owner', '--uid-owner', uid, '-j', 'ISTIO_IN_REDIRECT');
    }
    // app → app over the pod IP stays direct, unless loopback was asked for explicitly (-i).
    if (!loopbackIncluded) {
      if (c.redirectDns) {
        b.append('ISTIO_OUTPUT', 'nat', '-o', 'lo', '-p', 'tcp', '!', '--dport', '53', '-m', 'owner', '!', '--uid-owner', uid, '-j', 'RETURN');
      } else {
        b.append('ISTIO_OUTPUT', 'nat', '-o', 'lo', '-m', 'owner', '!', '--uid-owner', uid, '-j', 'RETURN');
      }
    }
    // Everything else the proxy sends is never captured again (no loops), whatever the protocol.
    b.append('ISTIO_OUTPUT', 'nat', '-m', 'owner', '--uid-owner', uid, '-j', 'RETURN');
  }
  for (const gid of c.proxyGids) {
    // Unlike the UID rule, istio keeps `! --dport <tunnel>` here even with DNS capture.
    b.appendVersioned(loopV4, LOOPBACK_V6, 'ISTIO_OUTPUT', 'nat', '-o', 'lo', '!', '-d', IP, '-p', 'tcp',
      '!', '--dport', c.inboundTunnelPort, '-m', 'owner', '--gid-owner', gid, '-j', 'ISTIO_IN_REDIRECT');
    if (!loopbackIncluded) {
      if (c.redirectDns) {
        b.append('ISTIO_OUTPUT', 'nat', '-o', 'lo', '-p', 'tcp', '!', '--dport', '53', '-m', 'owner', '!', '--gid-owner', gid, '-j', 'RETURN');
      } else {
        b.append('ISTIO_OUTPUT', 'nat', '-o', 'lo', '-m', 'owner', '!', '--gid-owner', gid, '-j', 'RETURN');
      }
    }
    b.append('ISTIO_OUTPUT', 'nat', '-m', 'owner', '--gid-owner', gid, '-j', 'RETURN');
  }

  addOwnerGroupRules(b, c);
  if (c.redirectDns) addDnsRules(b, c);

  // Localhost is never captured (Envoy-aware apps, container to container).
  b.appendVersioned(loopV4, LOOPBACK_V6, 'ISTIO_OUTPUT', 'nat', '-d', IP, '-j', 'RETURN');
  // Exclusions before inclusions.
  for (const cidr of c.outboundRangesExclude.v4.cidrs) b.appendV4('ISTIO_OUTPUT', 'nat', '-d', cidr.text, '-j', 'RETURN');
  for (const cidr of c.outboundRangesExclude.v6.cidrs) b.appendV6('ISTIO_OUTPUT', 'nat', '-d', cidr.text, '-j', 'RETURN');
  for (const port of c.outboundPortsInclude) {
    b.append('ISTIO_OUTPUT', 'nat', '-p', 'tcp', '--dport', port, '-j', 'ISTIO_REDIRECT');
  }
  addOutboundIncludeRules(c.outboundRangesInclude.v4, c.kubeVirtInterfaces,
    (...p) => b.appendV4('ISTIO_OUTPUT', 'nat', ...p), (...p) => b.insertV4('PREROUTING', 'nat', 1, ...p));
  addOutboundIncludeRules(c.outboundRangesInclude.v6, c.kubeVirtInterfaces,
    (...p) => b.appendV6('ISTIO_OUTPUT', 'nat', ...p), (...p) => b.insertV6('PREROUTING', 'nat', 1, ...p));

  if (tproxy) addTproxyMarkRules(b, c);
  return b;
}

/** Inbound capture: nat REDIRECT to `-z`, or mangle TPROXY. */
function addInboundRules(b: RuleSet, c: CaptureConfig): void {
  const inbound = c.inboundPorts;
  if (inbound.kind === 'none') return;
  const tproxy = c.interceptionMode === 'TPROXY';
  if (tproxy) {
    // Marked packets are routed to lo by the policy route (see tproxy-routes.ts).
    b.append('ISTIO_DIVERT', 'mangle', '-j', 'MARK', '--set-mark', c.tproxyMark);
    b.append('ISTIO_DIVERT', 'mangle', '-j', 'ACCEPT');
    b.appendVersioned(c.hostIpv4LoopbackCidr, LOOPBACK_V6, 'ISTIO_TPROXY', 'mangle', '!', '-d', IP, '-p', 'tcp',
      '-j', 'TPROXY', '--tproxy-mark', `${c.tproxyMark}/0xffffffff`, '--on-port', c.inboundCapturePort);
  }
  const table = tproxy ? 'mangle' : 'nat';
  b.append('PREROUTING', table, '-p', 'tcp', '-j', 'ISTIO_INBOUND');
  if (inbound.kind === 'all') {
    for (const port of inbound.exclude) b.append('ISTIO_INBOUND', table, '-p', 'tcp', '--dport', port, '-j', 'RETURN');
    if (tproxy) {
      // Packets of established connections go to lo; new connections are TPROXYed.
      b.append('ISTIO_INBOUND', 'mangle', '-p', 'tcp', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ISTIO_DIVERT');
      b.append('ISTIO_INBOUND', 'mangle', '-p', 'tcp', '-j', 'ISTIO_TPROXY');
    } else {
      b.append('ISTIO_INBOUND', 'nat', '-p', 'tcp', '-j', 'ISTIO_IN_REDIRECT');
    }
    return;
  }
  for (const port of inbound.ports) {
    if (tproxy) {
      b.append('ISTIO_INBOUND', 'mangle', '-p', 'tcp', '--dport', port, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ISTIO_DIVERT');
      b.append('ISTIO_INBOUND', 'mangle', '-p', 'tcp', '--dport', port, '-j', 'ISTIO_TPROXY');
    } else {
      b.append('ISTIO_INBOUND', 'nat', '-p', 'tcp', '--dport', port, '-j', 'ISTIO_IN_REDIRECT');
    }
  }
}

/** `ISTIO_OUTBOUND_OWNER_GROUPS[_EXCLUDE]`: RETURN for the groups not captured. */
function addOwnerGroupRules(b: RuleSet, c: CaptureConfig): void {
  const f = c.ownerGroups;
  if (f.except) {
    for (const g of f.values) b.append('ISTIO_OUTPUT', 'nat', '-m', 'owner', '--gid-owner', g, '-j', 'RETURN');
    return;
  }
  // One rule: "none of these groups" → RETURN (istio caps the list at 64 groups).
  const matchers = f.values.flatMap((g) => ['-m', 'owner', '!', '--gid-owner', g]);
  b.append('ISTIO_OUTPUT', 'nat', ...matchers, '-j', 'RETURN');
}

/** `-i`: the outbound catch-all or one jump per CIDR, and the matching `-k` interface jumps. */
function addOutboundIncludeRules(
  range: NetworkRange,
  kubeVirt: readonly string[],
  appendOutput: (...params: string[]) => void,
  insertPrerouting: (...params: string[]) => void,
): void {
  if (range.wildcard) {
    appendOutput('-j', 'ISTIO_REDIRECT');
    for (const itf of kubeVirt) insertPrerouting('-i', itf, '-j', 'ISTIO_REDIRECT');
    return;
  }
  for (const cidr of range.cidrs) {
    for (const itf of kubeVirt) insertPrerouting('-i', itf, '-d', cidr.text, '-j', 'ISTIO_REDIRECT');
    appendOutput('-d', cidr.text, '-j', 'ISTIO_REDIRECT');
  }
}

/** TPROXY marks: connmark save/restore, 1338 for proxy → app over lo, and the ISTIO_INBOUND guards. */
function addTproxyMarkRules(b: RuleSet, c: CaptureConfig): void {
  const mark = c.tproxyMark;
  b.append('PREROUTING', 'mangle', '-p', 'tcp', '-m', 'mark', '--mark', mark, '-j', 'CONNMARK', '--save-mark');
  b.append('OUTPUT', 'mangle', '-p', 'tcp', '-o', 'lo', '-m', 'mark', '--mark', mark, '-j', 'RETURN');
  for (const uid of c.proxyUids) {
    b.appendVersioned(c.hostIpv4LoopbackCidr, LOOPBACK_V6, 'OUTPUT', 'mangle', '!', '-d', IP, '-p', 'tcp', '-o', 'lo',
      '-m', 'owner', '--uid-owner', uid, '-j', 'MARK', '--set-mark', OUTBOUND_MARK);
  }
  for (const gid of c.proxyGids) {
    b.appendVersioned(c.hostIpv4LoopbackCidr, LOOPBACK_V6, 'OUTPUT', 'mangle', '!', '-d', IP, '-p', 'tcp', '-o', 'lo',
      '-m', 'owner', '--gid-owner', gid, '-j', 'MARK', '--set-mark', OUTBOUND_MARK);
  }
  b.append('OUTPUT', 'mangle', '-p', 'tcp', '-m', 'connmark', '--mark', mark, '-j', 'CONNMARK', '--restore-mark');
  b.insert('ISTIO_INBOUND', 'mangle', 1, '-p', 'tcp', '-m', 'mark', '--mark', mark, '-j', 'RETURN');
  b.insertV4('ISTIO_INBOUND', 'mangle', 2, '-p', 'tcp', '-s', INBOUND_PASSTHROUGH_V4, '-i', 'lo', '-j', 'RETURN');
  b.insertV6('ISTIO_INBOUND', 'mangle', 2, '-p', 'tcp', '-s', INBOUND_PASSTHROUGH_V6, '-i', 'lo', '-j', 'RETURN');
  b.insert('ISTIO_INBOUND', 'mangle', 3, '-p', 'tcp', '-i', 'lo', '-m', 'mark', '!', '--mark', OUTBOUND_MARK, '-j', 'RETURN');
}
