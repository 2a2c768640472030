/**
 * A dependency loaded on first use instead of at start.
 *
 * A sidecar with a static bootstrap and HTTP/2 upstreams needs neither undici (HTTP/1.1
 * upstreams, ~20 MiB of RSS once loaded) nor @grpc/grpc-js (the xDS client, ~14 MiB), yet a
 * top-level import loads them in every process. The modules that use them import only their
 * types (`import type`, erased at compile time) and call the getter this returns where the
 * value is needed; Node's module cache makes later calls cheap.
 */
export function lazyRequire<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= require(id) as T);
}
