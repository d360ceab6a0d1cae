import { describe, expect, it } from 'vitest';
import { FairSlots } from '../../src/domain/fair-slots';

describe('fair slots', () => {
  it('a tenant never holds more than its share, and waiting tenants take turns for freed slots', async () => {
    const slots = new FairSlots(4, 3);
    const granted: string[] = [];
    const take = async (tenant: string) => {
      const release = await slots.acquire(tenant);
      granted.push(tenant);
      return release;
    };
    // A holds 3 (its share), B the fourth; A asks for many more, then C and D ask once each.
    const first = await Promise.all([take('A'), take('A'), take('A'), take('B')]);
    const later = [take('A'), take('A'), take('A'), take('C'), take('D')];
    await new Promise((r) => setImmediate(r));
    expect(granted).toEqual(['A', 'A', 'A', 'B']);
    expect(slots.inFlight).toBe(4);
    // B's slot is freed: A is at its share, so C (waiting longest of the others); then A's freed slot
    // goes to D (none in flight) before A's own backlog (two in flight); the next one to A.
    first[3]!();
    await new Promise((r) => setImmediate(r));
    expect(granted.slice(4)).toEqual(['C']);
    first[0]!();
    await new Promise((r) => setImmediate(r));
    expect(granted.slice(5)).toEqual(['D']);
    first[1]!();
    await new Promise((r) => setImmediate(r));
    expect(granted.slice(6)).toEqual(['A']);
    expect(slots.inFlight).toBe(4);
    void later;
  });

  it('a release twice frees one slot', async () => {
    const slots = new FairSlots(1, 1);
    const release = await slots.acquire('A');
    release();
    release();
    expect(slots.inFlight).toBe(0);
  });

  it("tryAcquire takes a free slot at once, but none beyond the share and none ahead of the tenant's own waiters", async () => {
    const slots = new FairSlots(3, 2);
    const a1 = slots.tryAcquire('A');
    expect(a1).toBeTypeOf('function');
    expect(slots.tryAcquire('A')).toBeTypeOf('function');
    expect(slots.tryAcquire('A')).toBeNull(); // A's share is 2
    const waiting = slots.acquire('A');
    a1!();
    await waiting; // the freed slot went to A's waiter, not to a later tryAcquire
    expect(slots.inFlight).toBe(2);
    expect(slots.tryAcquire('B')).toBeTypeOf('function');
    expect(slots.tryAcquire('C')).toBeNull(); // all 3 taken
  });
});
