import type { IpBits } from '../common/ip-bits';

/**
 * What is known about a downstream connection when its filter chain is chosen: its addresses
 * (the local one restored to the original destination by original_dst) and what the listener
 * filters detected. Built once per connection; filter chain matching only reads it.
 */
export interface ConnectionFacts {
  /** Local (destination) address, unmapped ("::ffff:" removed); the original destination once restored. */
  localHost: string;
  localPort: number;
  localIp: IpBits | undefined;
  /** True once original_dst (or a transparent listener) set the local address to the original destination. */
  localRestored: boolean;
  remoteHost: string;
  remotePort: number;
  remoteIp: IpBits | undefined;
  /** SNI from a TLS ClientHello ('' = none). */
  serverName: string;
  /** "tls", "raw_buffer" (default once listener filters are done) or '' while unknown. */
  transportProtocol: string;
  /** ALPN from a ClientHello, or "http/1.1", "http/1.0", "h2c" from the HTTP inspector. */
  applicationProtocols: string[];
}
