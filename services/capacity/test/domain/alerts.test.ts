import { CapacityAlert } from '@allot/contracts';
import { describe, expect, it } from 'vitest';
import { type AlertFigures, alertConditions, alertFlips, describeAlert } from '../../src/domain/alerts';

/** The flips that raise an alert (the ones announced). */
const newlyRaised = (...args: Parameters<typeof alertFlips>) =>
  alertFlips(...args)
    .filter((f) => f.raised)
    .map((f) => f.type);
const cleared = (...args: Parameters<typeof alertFlips>) =>
  alertFlips(...args)
    .filter((f) => !f.raised)
    .map((f) => f.type);

const figures = (over: Partial<AlertFigures> = {}): AlertFigures => ({
  utilizationPercentage: 50,
  pendingEntries: 0,
  availableSlots: 5,
  ...over,
});
const session = { id: 'ses_01JQ', name: 'Morning tour' };
const none = { high_utilization: false, long_queue: false, capacity_shortage: false };

describe('alerts', () => {
  it('alerts - a quiet session raises nothing', () => {
    expect(alertConditions(figures())).toEqual(none);
  });

  it('alerts - high utilization is strictly above 90', () => {
    expect(alertConditions(figures({ utilizationPercentage: 90 })).high_utilization).toBe(false);
    expect(alertConditions(figures({ utilizationPercentage: 90.01 })).high_utilization).toBe(true);
    expect(alertConditions(figures({ utilizationPercentage: 120 })).high_utilization).toBe(true);
  });

  it('alerts - long queue is strictly above 10 pending entries', () => {
    expect(alertConditions(figures({ pendingEntries: 10 })).long_queue).toBe(false);
    expect(alertConditions(figures({ pendingEntries: 11 })).long_queue).toBe(true);
  });

  it('alerts - capacity shortage needs no free slots and someone waiting', () => {
    expect(alertConditions(figures({ availableSlots: 0, pendingEntries: 1 })).capacity_shortage).toBe(true);
    expect(alertConditions(figures({ availableSlots: -2, pendingEntries: 3 })).capacity_shortage).toBe(true);
    expect(alertConditions(figures({ availableSlots: 0, pendingEntries: 0 })).capacity_shortage).toBe(false);
    expect(alertConditions(figures({ availableSlots: 1, pendingEntries: 5 })).capacity_shortage).toBe(false);
  });

  it('alerts - all three can hold at once', () => {
    expect(alertConditions({ utilizationPercentage: 100, pendingEntries: 12, availableSlots: 0 })).toEqual({
      high_utilization: true,
      long_queue: true,
      capacity_shortage: true,
    });
  });

  it('alerts - describe high utilization', () => {
    const f = figures({ utilizationPercentage: 95.5, pendingEntries: 2, availableSlots: 1 });
    expect(describeAlert('high_utilization', session, '2025-03-14', f)).toEqual({
      type: 'high_utilization',
      sessionId: 'ses_01JQ',
      sessionName: 'Morning tour',
      date: '2025-03-14',
      message: 'High utilization (95.5%) for Morning tour',
      utilizationPercentage: 95.5,
      pendingEntries: 2,
      availableSlots: 1,
    });
  });

  it('alerts - describe long queue and capacity shortage', () => {
    const f = figures({ utilizationPercentage: 100, pendingEntries: 12, availableSlots: 0 });
    expect(describeAlert('long_queue', session, '2025-03-14', f).message).toBe('Long queue (12 entries) for Morning tour');
    const shortage = describeAlert('capacity_shortage', session, '2025-03-14', figures({ pendingEntries: 3, availableSlots: 0 }));
    expect(shortage.message).toBe('Capacity shortage for Morning tour with 3 in queue');
    expect(shortage).toMatchObject({ type: 'capacity_shortage', pendingEntries: 3, availableSlots: 0, utilizationPercentage: 50 });
  });

  it('alerts - a described alert satisfies the CapacityAlert contract', () => {
    const f = figures({ utilizationPercentage: 100, pendingEntries: 12, availableSlots: -1 });
    for (const type of ['high_utilization', 'long_queue', 'capacity_shortage'] as const) {
      expect(CapacityAlert.safeParse(describeAlert(type, session, '2025-03-14', f)).success).toBe(true);
    }
  });

  it('alerts - newly raised are the types true now and not before', () => {
    const now = { high_utilization: true, long_queue: true, capacity_shortage: false };
    expect(newlyRaised(none, now)).toEqual(['high_utilization', 'long_queue']);
    expect(newlyRaised({ high_utilization: true }, now)).toEqual(['long_queue']);
  });

  it('alerts - an alert that stays crossed is not raised again', () => {
    const all = { high_utilization: true, long_queue: true, capacity_shortage: true };
    expect(alertFlips(all, all)).toEqual([]);
  });

  it('alerts - an alert that clears is not raised, and crossing again raises it again', () => {
    const raised = { high_utilization: true, long_queue: false, capacity_shortage: false };
    expect(newlyRaised(raised, none)).toEqual([]);
    expect(cleared(raised, none)).toEqual(['high_utilization']);
    expect(newlyRaised(none, raised)).toEqual(['high_utilization']);
  });

  it('alerts - with no previous state every holding alert is new, in report order', () => {
    expect(newlyRaised({}, { high_utilization: false, long_queue: true, capacity_shortage: true })).toEqual([
      'long_queue',
      'capacity_shortage',
    ]);
    expect(newlyRaised({ capacity_shortage: false }, { high_utilization: true, long_queue: false, capacity_shortage: true })).toEqual([
      'high_utilization',
      'capacity_shortage',
    ]);
    expect(newlyRaised({}, none)).toEqual([]);
  });
});
