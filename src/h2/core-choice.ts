/**
 * Which HTTP/2 implementation carries proxied traffic: Legate's frame-level core (src/h2, the
 * default: about a fifth of node:http2's CPU per call, bench/micro/h2-core-compare.ts), or
 * node:http2 when LEGATE_HTTP2_CORE=node (kept to measure one against the other, and as a
 * fallback). Read once at start.
 */
export const USE_NODE_HTTP2 = process.env.LEGATE_HTTP2_CORE === 'node';
