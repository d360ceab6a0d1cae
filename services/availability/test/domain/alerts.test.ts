import type { Availability } from '@allot/contracts';
import { describe, expect, it } from 'vitest';
import { alertsOf } from '../../src/domain/alerts';

const day = (date: string, maxSlots: number, bookedSlots: number): Availability => ({
  sessionId: 's1',
  sessionName: 'Tour',
  date,
  maxSlots,
  bookedSlots,
  availableSlots: maxSlots - bookedSlots,
  isAvailable: maxSlots > bookedSlots,
  utilizationPercentage: Math.round((bookedSlots / maxSlots) * 10_000) / 100,
  lastUpdated: '2030-01-01T00:00:00.000Z',
});
const types = (today: Availability, tomorrow: Availability) => alertsOf(today, tomorrow).map((a) => `${a.type}@${a.date}`);

describe('availability alerts', () => {
  it('alerts - fewer than 5 left today is low; 5 left is not', () => {
    expect(types(day('2030-01-01', 10, 6), day('2030-01-02', 10, 0))).toEqual(['low_availability@2030-01-01']);
    expect(types(day('2030-01-01', 10, 5), day('2030-01-02', 10, 0))).toEqual([]);
  });

  it('alerts - none left today is no_availability only', () => {
    expect(types(day('2030-01-01', 10, 10), day('2030-01-02', 10, 0))).toEqual(['no_availability@2030-01-01']);
  });

  it('alerts - tomorrow above 80 % booked is high demand; exactly 80 % is not', () => {
    expect(types(day('2030-01-01', 100, 0), day('2030-01-02', 100, 81))).toEqual(['high_demand@2030-01-02']);
    expect(types(day('2030-01-01', 100, 0), day('2030-01-02', 100, 80))).toEqual([]);
    const [alert] = alertsOf(day('2030-01-01', 100, 0), day('2030-01-02', 100, 81));
    expect(alert).toMatchObject({ sessionName: 'Tour', availableSlots: 19, utilizationPercentage: 81 });
  });
});
