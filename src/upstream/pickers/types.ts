/**
 * Pickers: small immutable objects with a synchronous pick(), rebuilt whenever a cluster's
 * hosts or their health change (grpc-js's Picker). A pick never awaits or logs.
 */
import type { Host } from '../host';

/** What a request brings to host selection. */
export interface PickContext {
  /** The route's hash_policy result (RING_HASH / MAGLEV); undefined = no hash (random). */
  readonly hash: bigint | undefined;
}

export interface Picker {
  /** The host for this request, or undefined when there is no usable host (→ 503 UH). */
  pick(ctx?: PickContext): Host | undefined;
}

export const EMPTY_PICKER: Picker = { pick: () => undefined };

/** A uniformly random unsigned 64-bit value (Envoy's random_.random()). */
export function random64(): bigint {
  const hi = Math.floor(Math.random() * 0x1_0000_0000);
  const lo = Math.floor(Math.random() * 0x1_0000_0000);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** A random integer in [0, n). */
export function randomIndex(n: number): number {
  return Math.floor(Math.random() * n);
}
