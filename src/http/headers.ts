/**
 * Header hygiene shared by both directions. RFC 9113 §8.2.2: connection-specific
 * header fields must not be forwarded over HTTP/2; `te` may only carry "trailers".
 */
export const CONNECTION_SPECIFIC_HEADERS: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade',
]);

/** Removes hop-by-hop headers in place; keeps `te: trailers` only. */
export function stripHopByHop(h: Record<string, unknown>): void {
  for (const k of CONNECTION_SPECIFIC_HEADERS) if (k in h) delete h[k];
  const te = h['te'];
  if (te !== undefined && String(te).toLowerCase().trim() !== 'trailers') delete h['te'];
}
