/**
 * Small conversions between grpc-js `Metadata` and plain string records, shared by
 * the fake services.
 */
import * as grpc from '@grpc/grpc-js';

/**
 * Metadata as a record: one entry per key, repeated values joined with `", "`,
 * binary (`-bin`) values as base64 text.
 */
export function metadataToRecord(metadata: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    out[key] = values.map((v) => (typeof v === 'string' ? v : Buffer.from(v).toString('base64'))).join(', ');
  }
  return out;
}

/**
 * A record as metadata. Keys ending in `-bin` take base64 text and become binary
 * values; every other value is sent as is. `undefined` or `{}` gives empty metadata.
 */
export function recordToMetadata(record: Readonly<Record<string, string>> | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(record ?? {})) {
    if (key.endsWith('-bin')) metadata.add(key, Buffer.from(value, 'base64'));
    else metadata.add(key, value);
  }
  return metadata;
}

/** Milliseconds until `deadline` (grpc-js `Deadline`), or -1 when there is none. */
export function deadlineRemainingMs(deadline: grpc.Deadline): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return -1;
  return Math.max(0, Math.round(at - Date.now()));
}

/** Anything that emits `'cancelled'` when the client goes away (every grpc-js server call does). */
export interface Cancellable {
  readonly cancelled: boolean;
  once(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

/**
 * Wait `ms` milliseconds unless `call` is cancelled first.
 * Resolves `true` when the time passed, `false` when the call went away.
 */
export function pauseUnlessCancelled(ms: number, call: Cancellable): Promise<boolean> {
  if (call.cancelled) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onCancel = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      call.removeListener('cancelled', onCancel);
      resolve(!call.cancelled);
    }, ms);
    call.once('cancelled', onCancel);
  });
}
