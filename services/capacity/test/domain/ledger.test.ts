import { describe, expect, it } from 'vitest';
import { decideBatch, type Figures } from '../../src/domain/ledger';

const empty = (maxSlots: number): Figures => ({ maxSlots, override: false, booked: 0, available: maxSlots });

describe('ledger batch', () => {
  it('ledger - decides in arrival order, first fit: a booking that does not fit is refused while a smaller one behind it fits', () => {
    const { figures, decisions } = decideBatch(empty(10), [
      { kind: 'take', slots: 6 },
      { kind: 'take', slots: 5 },
      { kind: 'take', slots: 4 },
      { kind: 'take', slots: 1 },
    ]);
    expect(decisions.map((d) => d.accepted)).toEqual([true, false, true, false]);
    expect(decisions[1]).toMatchObject({ reason: 'exhausted', available: 4 });
    expect(figures).toEqual({ maxSlots: 10, override: false, booked: 10, available: 0 });
  });

  it('ledger - a release in the batch frees slots for the changes behind it', () => {
    const start = { maxSlots: 4, override: false, booked: 4, available: 0 };
    const { figures, decisions } = decideBatch(start, [
      { kind: 'take', slots: 2 },
      { kind: 'release', slots: 3 },
      { kind: 'take', slots: 2 },
    ]);
    expect(decisions.map((d) => d.accepted)).toEqual([false, true, true]);
    expect(figures).toMatchObject({ booked: 3, available: 1 });
  });

  it('ledger - capacity never goes below what is booked, and a new default skips a date with its own', () => {
    const start = { maxSlots: 10, override: false, booked: 6, available: 4 };
    expect(decideBatch(start, [{ kind: 'capacity', to: 5, scope: 'date' }]).decisions[0]).toMatchObject({
      accepted: false,
      reason: 'below_booked',
    });
    const lowered = decideBatch(start, [{ kind: 'capacity', to: 6, scope: 'date' }]);
    expect(lowered.decisions[0]).toEqual({ accepted: true, from: 10 });
    expect(lowered.figures).toEqual({ maxSlots: 6, override: true, booked: 6, available: 0 });
    expect(decideBatch(lowered.figures, [{ kind: 'capacity', to: 20, scope: 'default' }]).decisions[0]).toMatchObject({
      reason: 'overridden',
    });
  });
});
