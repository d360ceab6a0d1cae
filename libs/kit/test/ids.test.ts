import { afterEach, describe, expect, it, vi } from 'vitest';
import { newId } from '../src/ids';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

describe('newId', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is the prefix and a ULID, unique and sorted in creation order', () => {
    const ids = Array.from({ length: 10_000 }, () => newId('evt'));
    for (const id of ids.slice(0, 50)) expect(id).toMatch(/^evt_[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('draws fresh random characters in every new millisecond, over the whole alphabet', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.UTC(2030, 0, 1);
    const randomParts = Array.from({ length: 300 }, (_, i) => {
      vi.setSystemTime(start + i);
      return newId('evt').slice(-16);
    });
    expect(new Set(randomParts).size).toBe(randomParts.length);
    // 4,800 characters over 32 symbols (about 150 each): a pool that is not refilled, or a biased
    // draw, leaves symbols out or repeats parts.
    const seen = new Set(randomParts.join(''));
    expect([...seen].sort().join('')).toBe(CROCKFORD);
  });
});
