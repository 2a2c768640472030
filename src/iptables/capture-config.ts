/**
 * The resolved capture configuration: what the rule builder needs, parsed and checked, with the
 * host facts (IPv6, DNS servers) filled in. Field names follow istio's `config.Config`
 * (`istio/istio:tools/common/config/config.go`); ports, marks and ids stay strings because
 * istio writes them into the rules as given.
 */
import type { NetworkRange } from './ip-prefix';

/** How inbound connections reach the proxy (`-m`). */
export type InterceptionMode = 'REDIRECT' | 'TPROXY';

/** Inbound capture (`-b`, `-d`). */
export type InboundPorts =
  /** `-b ''` (the default): no inbound capture at all. */
  | { readonly kind: 'none' }
  /** `-b '*'`: every port except the `-d` ports. */
  | { readonly kind: 'all'; readonly exclude: readonly string[] }
  /** `-b 80,8080`: those ports only (`-d` is ignored, as in istio). */
  | { readonly kind: 'list'; readonly ports: readonly string[] };

/** Which owner groups' outbound traffic is captured (`ISTIO_OUTBOUND_OWNER_GROUPS[_EXCLUDE]`). */
export interface OwnerGroupsFilter {
  /** true: all groups except `values`; false: only `values`. */
  readonly except: boolean;
  /** Group names or numeric GIDs. */
  readonly values: readonly string[];
}

/** Everything the rule builder reads. Immutable once built. */
export interface CaptureConfig {
  /** `-p`: where outbound TCP is redirected. Default `15001`. */
  readonly proxyPort: string;
  /** `-z`: where inbound TCP is redirected. Default `15006`. */
  readonly inboundCapturePort: string;
  /** `-e`: the HBONE tunnel port, never captured. Default `15008`. */
  readonly inboundTunnelPort: string;
  /** `-u`: UIDs whose traffic is not captured. Default `1337` (or `ENVOY_USER`'s uid). */
  readonly proxyUids: readonly string[];
  /** `-g`: GIDs likewise. Default: same as `-u`. */
  readonly proxyGids: readonly string[];
  /** `-m`. Default REDIRECT. */
  readonly interceptionMode: InterceptionMode;
  /** `-t`: TPROXY mark. Default `1337`. */
  readonly tproxyMark: string;
  /** `-r`: TPROXY policy-routing table. Default `133`. */
  readonly tproxyRouteTable: string;
  readonly inboundPorts: InboundPorts;
  /** `-q`: outbound ports always captured. */
  readonly outboundPortsInclude: readonly string[];
  /** `-o`: outbound ports never captured (TCP and UDP). */
  readonly outboundPortsExclude: readonly string[];
  /** `-i`, split per family. */
  readonly outboundRangesInclude: { readonly v4: NetworkRange; readonly v6: NetworkRange };
  /** `-x`, split per family (never a wildcard). */
  readonly outboundRangesExclude: { readonly v4: NetworkRange; readonly v6: NetworkRange };
  /** `-k`: interfaces whose inbound traffic is treated as outbound. */
  readonly kubeVirtInterfaces: readonly string[];
  /** `-c`: interfaces left alone entirely. */
  readonly excludeInterfaces: readonly string[];
  readonly ownerGroups: OwnerGroupsFilter;
  /** `ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR`. Default `127.0.0.1/32`. */
  readonly hostIpv4LoopbackCidr: string;
  /** `--redirect-dns`, already turned off when there is nothing to capture (no servers, no `--capture-all-dns`). */
  readonly redirectDns: boolean;
  /** `--capture-all-dns`. */
  readonly captureAllDns: boolean;
  /** Nameservers from resolv.conf, canonical text. */
  readonly dnsServersV4: readonly string[];
  readonly dnsServersV6: readonly string[];
  /** `--drop-invalid`. */
  readonly dropInvalid: boolean;
  /** IPv6 rules too: the pod's address is IPv6 (or, with `--dual-stack`, it has one). */
  readonly enableIpv6: boolean;
}
