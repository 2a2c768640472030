/** Envoy's "fuzzy" payload match: every block must be found, in order, not necessarily contiguous. */
export function containsInOrder(buf: Buffer, blocks: readonly Buffer[]): boolean {
  let from = 0;
  for (const b of blocks) {
    const at = buf.indexOf(b, from);
    if (at < 0) return false;
    from = at + b.length;
  }
  return true;
}
