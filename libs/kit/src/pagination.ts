/**
 * The most bytes (as JSON) of items one page carries. An RPC answer travels as one NATS message,
 * and NATS refuses messages over its `max_payload` (1 MB unless configured otherwise): a page of
 * at most this much leaves room for the envelope and the rest of the answer, so a legal request
 * never meets the limit whatever the items hold.
 */
export const PAGE_BYTES = 256 * 1024;

const encoder = new TextEncoder();

/** The size of a value as it travels: its JSON in UTF-8. */
export const jsonBytes = (value: unknown): number => encoder.encode(JSON.stringify(value) ?? '').length;

/**
 * How many of `items`, from the first, one page shows: at most `limit`, and no more than fit in
 * `maxBytes` of JSON — but always at least one, so a reader walking the pages always moves on
 * (each item is bounded by its own schema, far below the budget).
 */
export function pageLength<T>(items: readonly T[], limit: number, maxBytes = PAGE_BYTES, sizeOf: (item: T) => number = jsonBytes): number {
  let bytes = 0;
  let count = 0;
  for (const item of items.slice(0, limit)) {
    bytes += sizeOf(item) + 1; // and its comma
    if (count > 0 && bytes > maxBytes) break;
    count++;
  }
  return count;
}

export interface PageOptions<D, T> {
  /** The byte budget of the page's items (default `PAGE_BYTES`). */
  maxBytes?: number;
  /** The cursor a next page starts after (default: the last item's `id`). */
  cursorOf?: (doc: D, item: T) => string;
}

/**
 * One page of a list (`{items, nextCursor}`): the caller fetched `limit + 1` documents in cursor
 * order; the extra one only tells that there is a next page. The page stops earlier if its
 * items would pass the byte budget; either way the next page starts after the last item shown.
 */
export function toPage<D, T>(
  docs: D[],
  limit: number,
  toItem: (doc: D) => T,
  options: PageOptions<D, T> = {},
): { items: T[]; nextCursor: string | null } {
  const cursorOf = options.cursorOf ?? ((_doc: D, item: T) => (item as { id: string }).id);
  const candidates = docs.slice(0, limit).map(toItem);
  const items = candidates.slice(0, pageLength(candidates, limit, options.maxBytes));
  const last = items.length - 1;
  return { items, nextCursor: docs.length > items.length && last >= 0 ? cursorOf(docs[last] as D, items[last] as T) : null };
}
