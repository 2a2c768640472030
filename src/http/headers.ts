/**
 * Header hygiene shared by both directions. RFC 9113 §8.2.2: connection-specific
 * header fields must not be forwarded over HTTP/2; `te` may only carry "trailers".
 */
export const CONNECTION_SPECIFIC_HEADERS: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade',
]);

/** Removes hop-by-hop headers in place; keeps `te: trailers` only. */
export function stripHopByHop(h: Record<string, unknown>): void {
  // Runs twice per request: a plain array loop, and no string built for the usual `te: trailers`.
  for (let i = 0; i < CONNECTION_SPECIFIC_LIST.length; i++) {
    const k = CONNECTION_SPECIFIC_LIST[i]!;
    if (k in h) delete h[k];
  }
  const te = h['te'];
  if (te !== undefined && te !== 'trailers' && String(te).toLowerCase().trim() !== 'trailers') delete h['te'];
}

const CONNECTION_SPECIFIC_LIST: readonly string[] = [...CONNECTION_SPECIFIC_HEADERS];
