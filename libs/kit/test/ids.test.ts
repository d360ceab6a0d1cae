import { afterEach, describe, expect, it, vi } from 'vitest';
import { idFor, newId } from '../src/ids';

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

  it('idFor is the same for the same key, differs for another, and sorts by its time like newId', () => {
    const at = new Date(Date.UTC(2030, 0, 1, 12));
    const id = idFor('ntf', at, 'tenant\u0000event\u0000user:1');
    expect(id).toMatch(/^ntf_[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect(idFor('ntf', at, 'tenant\u0000event\u0000user:1')).toBe(id);
    expect(idFor('ntf', at, 'tenant\u0000event\u0000user:2')).not.toBe(id);
    const later = idFor('ntf', new Date(at.getTime() + 1), 'tenant\u0000event\u0000user:0');
    expect(later > id).toBe(true);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(at.getTime() + 1);
    expect(newId('ntf') > id).toBe(true);
    // The hash's characters spread over the whole alphabet.
    const chars = new Set(Array.from({ length: 200 }, (_, i) => idFor('ntf', at, `key-${i}`).slice(-16)).join(''));
    expect([...chars].sort().join('')).toBe(CROCKFORD);
  });
});
