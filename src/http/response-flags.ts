/**
 * Envoy's response flags, in the order Envoy prints them
 * (source/common/stream_info/utility.h CORE_RESPONSE_FLAGS). A stream records them
 * as bits; access logs join the short names with ",".
 */
export const RESPONSE_FLAGS = [
  ['LH', 'FailedLocalHealthCheck'],
  ['UH', 'NoHealthyUpstream'],
  ['UT', 'UpstreamRequestTimeout'],
  ['LR', 'LocalReset'],
  ['UR', 'UpstreamRemoteReset'],
  ['UF', 'UpstreamConnectionFailure'],
  ['UC', 'UpstreamConnectionTermination'],
  ['UO', 'UpstreamOverflow'],
  ['NR', 'NoRouteFound'],
  ['DI', 'DelayInjected'],
  ['FI', 'FaultInjected'],
  ['RL', 'RateLimited'],
  ['UAEX', 'UnauthorizedExternalService'],
  ['RLSE', 'RateLimitServiceError'],
  ['DC', 'DownstreamConnectionTermination'],
  ['URX', 'UpstreamRetryLimitExceeded'],
  ['SI', 'StreamIdleTimeout'],
  ['IH', 'InvalidEnvoyRequestHeaders'],
  ['DPE', 'DownstreamProtocolError'],
  ['UMSDR', 'UpstreamMaxStreamDurationReached'],
  ['RFCF', 'ResponseFromCacheFilter'],
  ['NFCF', 'NoFilterConfigFound'],
  ['DT', 'DurationTimeout'],
  ['UPE', 'UpstreamProtocolError'],
  ['NC', 'NoClusterFound'],
  ['OM', 'OverloadManagerTerminated'],
  ['DF', 'DnsResolutionFailed'],
  ['DO', 'DropOverload'],
  ['DR', 'DownstreamRemoteReset'],
] as const;

export type ResponseFlag = (typeof RESPONSE_FLAGS)[number][0];

const BIT = new Map<string, number>(RESPONSE_FLAGS.map(([s], i) => [s, 2 ** i]));

export function flagBit(flag: ResponseFlag): number {
  return BIT.get(flag)!;
}

/** Short names joined by "," in Envoy's order, or "-" when none. */
export function formatResponseFlags(bits: number, long = false): string {
  if (bits === 0) return '-';
  let out = '';
  for (let i = 0; i < RESPONSE_FLAGS.length; i++) {
    if (bits & (2 ** i)) {
      const f = RESPONSE_FLAGS[i]!;
      out += (out ? ',' : '') + (long ? f[1] : f[0]);
    }
  }
  return out;
}
