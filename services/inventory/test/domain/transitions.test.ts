import { describe, expect, it } from 'vitest';
import { canMove, isFinal, sourcesOf } from '../../src/domain/transitions';

describe('order transitions', () => {
  it('transitions - follow the order states of the README and nothing else', () => {
    expect(canMove('pending', 'reserved')).toBe(true);
    expect(canMove('awaiting_restock', 'cancelled')).toBe(true);
    expect(canMove('reserved', 'fulfilled')).toBe(true);
    expect(canMove('reserved', 'failed')).toBe(false);
    expect(canMove('pending', 'fulfilled')).toBe(false);
    expect(canMove('fulfilled', 'cancelled')).toBe(false);
  });

  it('transitions - final states leave nowhere; guards list every source', () => {
    expect(['fulfilled', 'failed', 'cancelled'].every((s) => isFinal(s as never))).toBe(true);
    expect(isFinal('reserved')).toBe(false);
    expect(sourcesOf('cancelled')).toEqual(['pending', 'awaiting_restock', 'reserved']);
    expect(sourcesOf('awaiting_restock')).toEqual(['pending']);
  });
});
