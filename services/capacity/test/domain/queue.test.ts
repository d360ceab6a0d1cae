import { describe, expect, it } from 'vitest';
import { compareQueueOrder, firstFit, orderQueue, positionsOf, type Queued, queuePriority } from '../../src/domain/queue';

/** A queued entry with sensible defaults; the tests override what they are about. */
function entry(id: string, over: Partial<Queued> = {}): Queued {
  return { id, priority: 1, createdAt: '2025-03-14T10:00:00.000Z', requestedSlots: 1, ...over };
}

const ids = (entries: Queued[]) => entries.map((e) => e.id);

describe('queue', () => {
  it('queue - priority is 1 for a guest with a regular booking', () => {
    expect(queuePriority({ userId: null, bookingType: 'regular' })).toBe(1);
  });

  it('queue - priority adds 2 for a user and 3 for gold', () => {
    expect(queuePriority({ userId: 'u1', bookingType: 'regular' })).toBe(3);
    expect(queuePriority({ userId: null, bookingType: 'private_gold' })).toBe(4);
    expect(queuePriority({ userId: 'u1', bookingType: 'private_gold' })).toBe(6);
  });

  it('queue - priority adds 2 for silver', () => {
    expect(queuePriority({ userId: null, bookingType: 'private_silver' })).toBe(3);
    expect(queuePriority({ userId: 'u1', bookingType: 'private_silver' })).toBe(5);
  });

  it('queue - an empty-string userId still counts as a user (only null is a guest)', () => {
    expect(queuePriority({ userId: '', bookingType: 'regular' })).toBe(3);
  });

  it('queue - compare puts higher priority first regardless of age', () => {
    const old = entry('a', { priority: 1, createdAt: '2025-03-14T08:00:00.000Z' });
    const vip = entry('b', { priority: 6, createdAt: '2025-03-14T09:00:00.000Z' });
    expect(compareQueueOrder(vip, old)).toBeLessThan(0);
    expect(compareQueueOrder(old, vip)).toBeGreaterThan(0);
  });

  it('queue - compare puts the older entry first at equal priority', () => {
    const early = entry('z', { createdAt: '2025-03-14T08:00:00.000Z' });
    const late = entry('a', { createdAt: '2025-03-14T08:00:00.001Z' });
    expect(compareQueueOrder(early, late)).toBeLessThan(0);
    expect(compareQueueOrder(late, early)).toBeGreaterThan(0);
  });

  it('queue - compare breaks a full tie by id and is 0 only for the same id', () => {
    const a = entry('q_01A');
    const b = entry('q_01B');
    expect(compareQueueOrder(a, b)).toBeLessThan(0);
    expect(compareQueueOrder(b, a)).toBeGreaterThan(0);
    expect(compareQueueOrder(a, entry('q_01A'))).toBe(0);
  });

  it('queue - orderQueue sorts by priority, then age, then id, without touching the input', () => {
    const input = [
      entry('e1', { priority: 1, createdAt: '2025-03-14T08:00:00.000Z' }),
      entry('e2', { priority: 3, createdAt: '2025-03-14T09:00:00.000Z' }),
      entry('e3', { priority: 3, createdAt: '2025-03-14T08:30:00.000Z' }),
      entry('e5', { priority: 6, createdAt: '2025-03-14T10:00:00.000Z' }),
      entry('e4', { priority: 6, createdAt: '2025-03-14T10:00:00.000Z' }),
    ];
    const before = ids(input);
    expect(ids(orderQueue(input))).toEqual(['e4', 'e5', 'e3', 'e2', 'e1']);
    expect(ids(input)).toEqual(before);
    expect(orderQueue(input)).not.toBe(input);
  });

  it('queue - orderQueue gives the same order whatever the input order', () => {
    const entries = [
      entry('a', { priority: 3, createdAt: '2025-03-14T08:00:00.000Z' }),
      entry('b', { priority: 3, createdAt: '2025-03-14T08:00:00.000Z' }),
      entry('c', { priority: 5, createdAt: '2025-03-14T09:00:00.000Z' }),
      entry('d', { priority: 1, createdAt: '2025-03-14T07:00:00.000Z' }),
    ];
    const reversed = [...entries].reverse();
    expect(ids(orderQueue(entries))).toEqual(['c', 'a', 'b', 'd']);
    expect(ids(orderQueue(reversed))).toEqual(['c', 'a', 'b', 'd']);
  });

  it('queue - orderQueue of an empty queue is empty', () => {
    expect(orderQueue([])).toEqual([]);
  });

  it('queue - positions are 1-based in queue order with (position - 1) x minutes wait', () => {
    const positions = positionsOf(
      [
        entry('late', { createdAt: '2025-03-14T09:00:00.000Z' }),
        entry('gold', { priority: 6, createdAt: '2025-03-14T09:30:00.000Z' }),
        entry('early', { createdAt: '2025-03-14T08:00:00.000Z' }),
      ],
      5,
    );
    expect(positions.size).toBe(3);
    expect(positions.get('gold')).toEqual({ position: 1, estimatedWaitMinutes: 0 });
    expect(positions.get('early')).toEqual({ position: 2, estimatedWaitMinutes: 5 });
    expect(positions.get('late')).toEqual({ position: 3, estimatedWaitMinutes: 10 });
    expect([...positions.keys()]).toEqual(['gold', 'early', 'late']);
  });

  it('queue - positions use the configured minutes per position', () => {
    const positions = positionsOf([entry('a'), entry('b'), entry('c'), entry('d')], 7);
    expect(positions.get('d')).toEqual({ position: 4, estimatedWaitMinutes: 21 });
    expect(positionsOf([entry('a'), entry('b')], 0).get('b')).toEqual({ position: 2, estimatedWaitMinutes: 0 });
  });

  it('queue - positions of an empty queue is an empty map', () => {
    expect(positionsOf([], 5).size).toBe(0);
  });

  it('queue - firstFit takes entries in order while they fit', () => {
    const pending = [entry('a', { requestedSlots: 2 }), entry('b', { requestedSlots: 3 }), entry('c', { requestedSlots: 4 })];
    expect(ids(firstFit(pending, 5))).toEqual(['a', 'b']);
    expect(ids(firstFit(pending, 9))).toEqual(['a', 'b', 'c']);
    expect(ids(firstFit(pending, 100))).toEqual(['a', 'b', 'c']);
  });

  it('queue - firstFit skips an entry that does not fit and lets a later smaller one through', () => {
    const pending = [
      entry('big', { priority: 6, requestedSlots: 5 }),
      entry('mid', { priority: 3, requestedSlots: 3 }),
      entry('small', { priority: 1, requestedSlots: 1 }),
    ];
    // 4 free: big (5) is skipped, mid (3) fits leaving 1, small (1) fits leaving 0.
    expect(ids(firstFit(pending, 4))).toEqual(['mid', 'small']);
    // 3 free: big skipped, mid takes all 3, small no longer fits.
    expect(ids(firstFit(pending, 3))).toEqual(['mid']);
    // 2 free: only small fits.
    expect(ids(firstFit(pending, 2))).toEqual(['small']);
  });

  it('queue - firstFit walks queue order, not input order', () => {
    const pending = [
      entry('guest', { priority: 1, requestedSlots: 2, createdAt: '2025-03-14T08:00:00.000Z' }),
      entry('gold', { priority: 6, requestedSlots: 2, createdAt: '2025-03-14T09:00:00.000Z' }),
    ];
    expect(ids(firstFit(pending, 2))).toEqual(['gold']);
    expect(ids(firstFit(pending, 4))).toEqual(['gold', 'guest']);
  });

  it('queue - firstFit selects an entry that exactly fills the capacity', () => {
    expect(ids(firstFit([entry('a', { requestedSlots: 3 }), entry('b', { requestedSlots: 1 })], 3))).toEqual(['a']);
  });

  it('queue - firstFit selects nothing with no, negative or too little capacity', () => {
    const pending = [entry('a', { requestedSlots: 2 }), entry('b', { requestedSlots: 3 })];
    expect(firstFit(pending, 0)).toEqual([]);
    expect(firstFit(pending, -4)).toEqual([]);
    expect(firstFit(pending, 1)).toEqual([]);
    expect(firstFit([], 10)).toEqual([]);
  });

  it('queue - firstFit never lets a non-positive request inflate the capacity', () => {
    const pending = [entry('bogus', { requestedSlots: -5 }), entry('zero', { requestedSlots: 0 }), entry('real', { requestedSlots: 3 })];
    expect(ids(firstFit(pending, 2))).toEqual([]);
    expect(ids(firstFit(pending, 3))).toEqual(['real']);
  });

  it('queue - firstFit never selects more slots than available', () => {
    const pending = [1, 4, 2, 5, 3, 1, 2].map((slots, i) => entry(`e${i}`, { requestedSlots: slots }));
    for (let available = 0; available <= 20; available++) {
      const taken = firstFit(pending, available).reduce((sum, e) => sum + e.requestedSlots, 0);
      expect(taken).toBeLessThanOrEqual(available);
    }
    // 8 free: e0 (1) → 7, e1 (4) → 3, e2 (2) → 1, e3 (5) skip, e4 (3) skip, e5 (1) → 0.
    expect(ids(firstFit(pending, 8))).toEqual(['e0', 'e1', 'e2', 'e5']);
  });
});
