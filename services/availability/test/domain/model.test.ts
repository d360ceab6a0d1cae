import { describe, expect, it } from 'vitest';
import {
  availabilityOf,
  mergeSession,
  newerSession,
  newerSlot,
  type SessionFact,
  type SessionState,
  type SlotState,
  utilizationPercentage,
} from '../../src/domain/model';

const at = (n: number) => new Date(Date.UTC(2030, 0, 1, 0, n)).toISOString();
const fact = (version: number, part: Partial<SessionFact>): SessionFact => ({
  tenantId: 't1',
  sessionId: 's1',
  version,
  at: at(version),
  ...part,
});
const slot = (version: number, booked: number): SlotState => ({
  tenantId: 't1',
  sessionId: 's1',
  date: '2030-01-02',
  maxSlots: 10,
  bookedSlots: booked,
  availableSlots: 10 - booked,
  version,
  lastUpdated: at(version),
});

/** Every order of `items` (small lists only). */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('read model values', () => {
  const history: SessionFact[] = [
    fact(1, { details: { name: 'Tour', isActive: true }, maxCapacity: 10 }),
    fact(2, { maxCapacity: 15 }),
    fact(3, { details: { name: 'Tour renamed', isActive: true }, maxCapacity: 15 }),
    fact(4, { details: { name: 'Tour renamed', isActive: false }, maxCapacity: 15 }),
    fact(5, { maxCapacity: 12 }),
  ];
  const inOrder = history.reduce<SessionState | undefined>((s, f) => mergeSession(s, f), undefined);

  it('sessions - every order of the facts, each applied twice, ends in the state of applying them in order once', () => {
    expect(inOrder).toMatchObject({ name: 'Tour renamed', isActive: false, maxCapacity: 12, detailsVersion: 4, capacityVersion: 5 });
    for (const order of permutations(history)) {
      const twice = [...order, ...order.reverse()];
      expect(twice.reduce<SessionState | undefined>((s, f) => mergeSession(s, f), undefined)).toEqual(inOrder);
    }
  });

  it('sessions - a capacity change arriving before the creation keeps its newer capacity', () => {
    const early = mergeSession(undefined, history[1] as SessionFact);
    expect(early.detailsVersion).toBe(0); // not yet a session anyone can see
    expect(mergeSession(early, history[0] as SessionFact)).toMatchObject({ name: 'Tour', maxCapacity: 15 });
  });

  it('sessions - merging a stored copy takes each part from whichever is newer', () => {
    const cached = mergeSession(undefined, history[4] as SessionFact); // capacity only, v5
    const stored = [history[0], history[1], history[2]].reduce<SessionState | undefined>(
      (s, f) => mergeSession(s, f as SessionFact),
      undefined,
    );
    expect(newerSession(cached, stored as SessionState)).toMatchObject({ name: 'Tour renamed', maxCapacity: 12, detailsVersion: 3 });
  });

  it('slots - a duplicate or an older snapshot changes nothing', () => {
    const current = slot(3, 4);
    expect(newerSlot(current, slot(3, 9))).toBe(current);
    expect(newerSlot(current, slot(2, 1))).toBe(current);
    expect(newerSlot(current, slot(4, 5))).toEqual(slot(4, 5));
  });

  it('availability - a date nobody booked shows the session capacity; a ledger shows its own figures', () => {
    const session = inOrder as SessionState;
    expect(availabilityOf(session, '2030-01-05', undefined)).toMatchObject({
      maxSlots: 12,
      bookedSlots: 0,
      availableSlots: 12,
      isAvailable: true,
      utilizationPercentage: 0,
      lastUpdated: session.updatedAt,
    });
    expect(availabilityOf(session, '2030-01-02', slot(7, 10))).toMatchObject({
      maxSlots: 10,
      availableSlots: 0,
      isAvailable: false,
      utilizationPercentage: 100,
    });
    expect(utilizationPercentage(1, 3)).toBe(33.33);
    expect(utilizationPercentage(0, 0)).toBe(0);
  });
});
