import { describe, expect, it } from 'vitest';
import { jsonBytes, pageLength, toPage } from '../src/pagination';

const doc = (i: number, text = '') => ({ id: `d_${String(i).padStart(3, '0')}`, text });

describe('pagination', () => {
  it('pagination - a page shows at most limit items and points after the last one when more exist', () => {
    const docs = [1, 2, 3, 4].map((i) => doc(i));
    expect(toPage(docs, 3, (d) => d)).toEqual({ items: docs.slice(0, 3), nextCursor: 'd_003' });
    expect(toPage(docs.slice(0, 3), 3, (d) => d)).toEqual({ items: docs.slice(0, 3), nextCursor: null });
  });

  it('pagination - a page stops before its items pass the byte budget, and the next one starts after it', () => {
    const docs = Array.from({ length: 51 }, (_, i) => doc(i, 'x'.repeat(1000)));
    const page = toPage(docs, 50, (d) => d, { maxBytes: 10_000 });
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.length).toBeLessThan(50);
    expect(jsonBytes(page.items)).toBeLessThanOrEqual(10_000);
    expect(page.nextCursor).toBe(page.items.at(-1)?.id);
  });

  it('pagination - one item larger than the budget still makes a page of one, so a reader moves on', () => {
    expect(pageLength([doc(1, 'x'.repeat(100)), doc(2)], 10, 10)).toBe(1);
  });

  it('pagination - the cursor can be something other than the id', () => {
    const docs = [1, 2, 3].map((i) => ({ _id: `k${i}`, n: i }));
    expect(toPage(docs, 2, (d) => ({ n: d.n }), { cursorOf: (d) => d._id }).nextCursor).toBe('k2');
  });
});
