/**
 * DNS capture (`--redirect-dns`): queries to the pod's nameservers (or to any server with
 * `--capture-all-dns`) go to the agent's DNS proxy on 15053, and the raw table splits the
 * agent's own DNS traffic into separate conntrack zones. A port of `SetupDNSRedir` and
 * `addDNSConntrackZones` in `istio/istio:tools/istio-iptables/pkg/capture/run.go`.
 */
import type { CaptureConfig } from './capture-config';
import type { RuleSet } from './rule-set';

/** The agent's DNS proxy port (istio's `IstioAgentDNSListenerPort`). */
export const AGENT_DNS_PORT = '15053';

/** Adds the nat redirects and the raw conntrack-zone rules. */
export function addDnsRules(b: RuleSet, c: CaptureConfig): void {
  // raw:OUTPUT needs its own jump; nat:OUTPUT already jumps to ISTIO_OUTPUT.
  b.append('OUTPUT', 'raw', '-j', 'ISTIO_OUTPUT_DNS');
  // Jump only for a family that has something to capture.
  if (c.captureAllDns || c.dnsServersV4.length > 0) b.appendV4('ISTIO_OUTPUT', 'nat', '-j', 'ISTIO_OUTPUT_DNS');
  if (c.captureAllDns || c.dnsServersV6.length > 0) b.appendV6('ISTIO_OUTPUT', 'nat', '-j', 'ISTIO_OUTPUT_DNS');

  if (c.captureAllDns) {
    b.append('ISTIO_OUTPUT_DNS', 'nat', '-p', 'tcp', '--dport', '53', '-j', 'REDIRECT', '--to-ports', AGENT_DNS_PORT);
  } else {
    // Only the configured servers: a local resolver (dnsmasq) forwarding upstream must not loop back to us.
    for (const s of c.dnsServersV4) {
      b.appendV4('ISTIO_OUTPUT_DNS', 'nat', '-p', 'tcp', '--dport', '53', '-d', `${s}/32`, '-j', 'REDIRECT', '--to-ports', AGENT_DNS_PORT);
    }
    for (const s of c.dnsServersV6) {
      b.appendV6('ISTIO_OUTPUT_DNS', 'nat', '-p', 'tcp', '--dport', '53', '-d', `${s}/128`, '-j', 'REDIRECT', '--to-ports', AGENT_DNS_PORT);
    }
  }
  // Note `--to-port` (singular) for UDP: istio's spelling, kept so the output is identical.
  if (c.captureAllDns) {
    b.append('ISTIO_OUTPUT_DNS', 'nat', '-p', 'udp', '--dport', '53', '-j', 'REDIRECT', '--to-port', AGENT_DNS_PORT);
  } else {
    for (const s of c.dnsServersV4) {
      b.appendV4('ISTIO_OUTPUT_DNS', 'nat', '-p', 'udp', '--dport', '53', '-d', `${s}/32`, '-j', 'REDIRECT', '--to-port', AGENT_DNS_PORT);
    }
    for (const s of c.dnsServersV6) {
      b.appendV6('ISTIO_OUTPUT_DNS', 'nat', '-p', 'udp', '--dport', '53', '-d', `${s}/128`, '-j', 'REDIRECT', '--to-port', AGENT_DNS_PORT);
    }
  }
  addConntrackZones(b, c);
}

/**
 * Zone 1: the agent ↔ upstream resolvers; zone 2: app clients ↔ the agent. Without the split,
 * UDP conntrack entries of the two legs collide (same 5-tuple after REDIRECT).
 */
function addConntrackZones(b: RuleSet, c: CaptureConfig): void {
  for (const uid of c.proxyUids) {
    b.append('ISTIO_OUTPUT_DNS', 'raw', '-p', 'udp', '--dport', '53', '-m', 'owner', '--uid-owner', uid, '-j', 'CT', '--zone', '1');
    b.append('ISTIO_OUTPUT_DNS', 'raw', '-p', 'udp', '--sport', AGENT_DNS_PORT, '-m', 'owner', '--uid-owner', uid, '-j', 'CT', '--zone', '2');
  }
  for (const gid of c.proxyGids) {
    b.append('ISTIO_OUTPUT_DNS', 'raw', '-p', 'udp', '--dport', '53', '-m', 'owner', '--gid-owner', gid, '-j', 'CT', '--zone', '1');
    b.append('ISTIO_OUTPUT_DNS', 'raw', '-p', 'udp', '--sport', AGENT_DNS_PORT, '-m', 'owner', '--gid-owner', gid, '-j', 'CT', '--zone', '2');
  }
  if (c.captureAllDns) {
    b.append('PREROUTING', 'raw', '-j', 'ISTIO_INBOUND');
    b.append('ISTIO_OUTPUT_DNS', 'raw', '-p', 'udp', '--dport', '53', '-j', 'CT', '--zone', '2');
    b.append('ISTIO_INBOUND', 'raw', '-p', 'udp', '--sport', '53', '-j', 'CT', '--zone', '1');
    return;
  }
  // The PREROUTING jump only when the chain gets rules: istio avoids jumps to empty chains.
  if (c.dnsServersV4.length > 0) b.appendV4('PREROUTING', 'raw', '-j', 'ISTIO_INBOUND');
  for (const s of c.dnsServersV4) {
    b.appendV4('ISTIO_OUTPUT_DNS', 'raw', '-p', 'udp', '--dport', '53', '-d', `${s}/32`, '-j', 'CT', '--zone', '2');
    b.appendV4('ISTIO_INBOUND', 'raw', '-p', 'udp', '--sport', '53', '-s', `${s}/32`, '-j', 'CT', '--zone', '1');
  }
  if (c.dnsServersV6.length > 0) b.appendV6('PREROUTING', 'raw', '-j', 'ISTIO_INBOUND');
  for (const s of c.dnsServersV6) {
    b.appendV6('ISTIO_OUTPUT_DNS', 'raw', '-p', 'udp', '--dport', '53', '-d', `${s}/128`, '-j', 'CT', '--zone', '2');
    b.appendV6('ISTIO_INBOUND', 'raw', '-p', 'udp', '--sport', '53', '-s', `${s}/128`, '-j', 'CT', '--zone', '1');
  }
}
