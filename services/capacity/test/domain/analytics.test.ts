import { describe, expect, it } from 'vitest';
import {
  capacityStats,
  type DayFigures,
  defaultPeriod,
  periodDays,
  type QueueFigures,
  queueStats,
  recommendations,
  utilizationPercentage,
} from '../../src/domain/analytics';

const day = (date: string, booked: number, capacity = 10): DayFigures => ({ date, booked, capacity });
const queued = (status: QueueFigures['status'], initialPosition: number, initialWaitMinutes: number): QueueFigures => ({
  status,
  initialPosition,
  initialWaitMinutes,
});

describe('analytics', () => {
  it('analytics - utilization is booked/capacity x 100', () => {
    expect(utilizationPercentage(5, 10)).toBe(50);
    expect(utilizationPercentage(0, 10)).toBe(0);
    expect(utilizationPercentage(10, 10)).toBe(100);
    expect(utilizationPercentage(12, 10)).toBe(120);
  });

  it('analytics - utilization rounds to 2 decimals', () => {
    expect(utilizationPercentage(1, 3)).toBe(33.33);
    expect(utilizationPercentage(2, 3)).toBe(66.67);
    expect(utilizationPercentage(1, 7)).toBe(14.29);
    expect(utilizationPercentage(191, 200)).toBe(95.5);
  });

  it('analytics - utilization is 0 for zero or negative capacity', () => {
    expect(utilizationPercentage(5, 0)).toBe(0);
    expect(utilizationPercentage(5, -1)).toBe(0);
  });

  it('analytics - capacity stats average and peak only dates with a booking', () => {
    const stats = capacityStats([day('2025-03-01', 0), day('2025-03-02', 5), day('2025-03-03', 8), day('2025-03-04', 0)], 10);
    // (50 + 80) / 2; the two empty dates do not drag the average down.
    expect(stats).toEqual({ maxCapacity: 10, averageUtilization: 65, peakUtilization: 80, shortageDays: 0 });
  });

  it('analytics - capacity stats use each date own capacity (overrides)', () => {
    const stats = capacityStats([day('2025-03-01', 5, 10), day('2025-03-02', 5, 5), day('2025-03-03', 3, 20)], 10);
    // 50, 100, 15 → mean 55; the override date of 5 is full → 1 shortage day.
    expect(stats).toEqual({ maxCapacity: 10, averageUtilization: 55, peakUtilization: 100, shortageDays: 1 });
  });

  it('analytics - capacity stats average rounds to 2 decimals', () => {
    // 10, 20, 20 → 16.666… → 16.67
    const stats = capacityStats([day('2025-03-01', 1), day('2025-03-02', 2), day('2025-03-03', 2)], 10);
    expect(stats.averageUtilization).toBe(16.67);
    // 33.33 and 66.67 (each already rounded) → 50
    expect(capacityStats([day('2025-03-01', 1, 3), day('2025-03-02', 2, 3)], 3).averageUtilization).toBe(50);
  });

  it('analytics - a shortage day is booked >= capacity, including overbooked after a capacity cut', () => {
    const stats = capacityStats([day('2025-03-01', 10), day('2025-03-02', 12), day('2025-03-03', 9)], 10);
    expect(stats.shortageDays).toBe(2);
    expect(stats.peakUtilization).toBe(120);
  });

  it('analytics - a date with no bookings is never a shortage day, even at capacity 0', () => {
    expect(capacityStats([day('2025-03-01', 0, 0)], 10).shortageDays).toBe(0);
    expect(capacityStats([day('2025-03-01', 1, 0)], 10).shortageDays).toBe(1);
  });

  it('analytics - capacity stats of a period without bookings are all 0', () => {
    expect(capacityStats([day('2025-03-01', 0), day('2025-03-02', 0)], 25)).toEqual({
      maxCapacity: 25,
      averageUtilization: 0,
      peakUtilization: 0,
      shortageDays: 0,
    });
    expect(capacityStats([], 25)).toEqual({ maxCapacity: 25, averageUtilization: 0, peakUtilization: 0, shortageDays: 0 });
  });

  it('analytics - queue stats count statuses and average over all entries', () => {
    const stats = queueStats([
      queued('completed', 1, 0),
      queued('completed', 2, 5),
      queued('cancelled', 3, 10),
      queued('expired', 4, 15),
      queued('pending', 5, 20),
    ]);
    expect(stats).toEqual({ totalEntries: 5, completed: 2, cancelled: 1, expired: 1, averageWaitMinutes: 10, averagePosition: 3 });
  });

  it('analytics - queue stats averages round to 2 decimals', () => {
    const stats = queueStats([queued('completed', 1, 0), queued('completed', 1, 0), queued('expired', 2, 5)]);
    expect(stats.averagePosition).toBe(1.33);
    expect(stats.averageWaitMinutes).toBe(1.67);
  });

  it('analytics - queue stats of no entries are all 0', () => {
    expect(queueStats([])).toEqual({ totalEntries: 0, completed: 0, cancelled: 0, expired: 0, averageWaitMinutes: 0, averagePosition: 0 });
  });

  it('analytics - recommendations for high utilization and a long queue, in order', () => {
    expect(recommendations(80.01, 21)).toEqual([
      { type: 'increase_capacity', message: 'Consider increasing capacity due to high utilization', priority: 'high' },
      { type: 'add_session', message: 'Consider adding another session due to high queue demand', priority: 'medium' },
    ]);
  });

  it('analytics - recommendations for low utilization and a long queue, in order', () => {
    expect(recommendations(10, 50)).toEqual([
      { type: 'add_session', message: 'Consider adding another session due to high queue demand', priority: 'medium' },
      { type: 'decrease_capacity', message: 'Consider decreasing capacity due to low utilization', priority: 'low' },
    ]);
    expect(recommendations(29.99, 0)).toEqual([
      { type: 'decrease_capacity', message: 'Consider decreasing capacity due to low utilization', priority: 'low' },
    ]);
  });

  it('analytics - recommendations boundaries are strict: 80, 30 and 20 entries give nothing', () => {
    expect(recommendations(80, 20)).toEqual([]);
    expect(recommendations(30, 20)).toEqual([]);
    expect(recommendations(55, 0)).toEqual([]);
  });

  it('analytics - an idle session (0 %) is told to decrease capacity', () => {
    expect(recommendations(0, 0).map((r) => r.type)).toEqual(['decrease_capacity']);
  });

  it('analytics - default period is today minus 30 days through today', () => {
    expect(defaultPeriod('2025-03-31')).toEqual({ from: '2025-03-01', to: '2025-03-31' });
    expect(defaultPeriod('2025-01-15')).toEqual({ from: '2024-12-16', to: '2025-01-15' });
    expect(defaultPeriod('2024-03-01')).toEqual({ from: '2024-01-31', to: '2024-03-01' });
  });

  it('analytics - periodDays counts every date, both ends included', () => {
    expect(periodDays('2025-02-27', '2025-03-02')).toBe(4);
    expect(periodDays('2024-12-31', '2025-01-01')).toBe(2);
    expect(periodDays('2025-03-14', '2025-03-14')).toBe(1);
    expect(periodDays('2000-01-01', '2100-12-31')).toBe(36_890);
  });

  it('analytics - the default period has 31 dates', () => {
    const { from, to } = defaultPeriod('2025-03-31');
    expect(from).toBe('2025-03-01');
    expect(periodDays(from, to)).toBe(31);
  });

  it('analytics - a period whose from is after to has no dates', () => {
    expect(periodDays('2025-03-02', '2025-03-01')).toBeLessThan(1);
  });

  it('analytics - periodDays rejects a malformed bound instead of returning an empty period', () => {
    expect(() => periodDays('2025-03-01', '2025-02-30')).toThrow(RangeError);
    expect(() => periodDays('2025-03-32', '2025-03-01')).toThrow(RangeError);
  });
});
