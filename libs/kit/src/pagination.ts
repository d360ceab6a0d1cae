/**
 * One page of a list (SPEC §2: `{items, nextCursor}`): the caller fetched `limit + 1` documents
 * in cursor order; the extra one only tells that there is a next page, which starts after the
 * last item shown.
 */
export function toPage<D, T extends { id: string }>(
  docs: D[],
  limit: number,
  toItem: (doc: D) => T,
): { items: T[]; nextCursor: string | null } {
  const items = docs.slice(0, limit).map(toItem);
  return { items, nextCursor: docs.length > limit ? (items.at(-1)?.id ?? null) : null };
}
