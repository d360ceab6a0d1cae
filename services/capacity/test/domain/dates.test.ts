import { describe, expect, it } from 'vitest';
import { addDays, isPastDate, todayUtc } from '../../src/domain/dates';

describe('dates', () => {
  it('dates - todayUtc is the UTC calendar date of the instant', () => {
    expect(todayUtc(new Date('2025-03-14T12:00:00Z'))).toBe('2025-03-14');
    expect(todayUtc(new Date('2025-03-14T23:59:59.999Z'))).toBe('2025-03-14');
    expect(todayUtc(new Date('2025-03-15T00:00:00Z'))).toBe('2025-03-15');
  });

  it('dates - todayUtc ignores the offset the instant was written with', () => {
    // 23:30 in New York on the 14th is already the 15th in UTC.
    expect(todayUtc(new Date('2025-03-14T23:30:00-04:00'))).toBe('2025-03-15');
  });

  it('dates - addDays moves forward and back across months, years and leap days', () => {
    expect(addDays('2025-03-14', 1)).toBe('2025-03-15');
    expect(addDays('2025-03-14', 0)).toBe('2025-03-14');
    expect(addDays('2025-01-31', 1)).toBe('2025-02-01');
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01');
    expect(addDays('2025-01-01', -1)).toBe('2024-12-31');
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2025-02-28', 1)).toBe('2025-03-01');
    expect(addDays('2025-03-31', -30)).toBe('2025-03-01');
    expect(addDays('2024-03-31', -30)).toBe('2024-03-01');
  });

  it('dates - addDays is not shifted by daylight-saving changes', () => {
    // Europe and the US switch clocks on these dates; UTC arithmetic must not notice.
    expect(addDays('2025-03-30', 1)).toBe('2025-03-31');
    expect(addDays('2025-10-26', 1)).toBe('2025-10-27');
    expect(addDays('2025-03-01', 365)).toBe('2026-03-01');
  });

  it('dates - addDays rejects impossible dates and fractional days', () => {
    expect(() => addDays('2025-02-30', 1)).toThrow(RangeError);
    expect(() => addDays('2025-13-01', 1)).toThrow(RangeError);
    expect(() => addDays('2025-3-1', 1)).toThrow(RangeError);
    expect(() => addDays('', 1)).toThrow(RangeError);
    expect(() => addDays('2025-03-01', 1.5)).toThrow(RangeError);
    expect(() => addDays('2025-03-01', Number.NaN)).toThrow(RangeError);
  });

  it('dates - isPastDate is true only strictly before today (UTC)', () => {
    const now = new Date('2025-03-14T00:30:00Z');
    expect(isPastDate('2025-03-13', now)).toBe(true);
    expect(isPastDate('2024-12-31', now)).toBe(true);
    expect(isPastDate('2025-03-14', now)).toBe(false);
    expect(isPastDate('2025-03-15', now)).toBe(false);
  });

  it('dates - isPastDate judges by the UTC day, not the local one', () => {
    // Still the 13th in New York, but the 14th in UTC: the 13th is already past.
    expect(isPastDate('2025-03-13', new Date('2025-03-13T21:00:00-04:00'))).toBe(true);
    expect(isPastDate('2025-03-13', new Date('2025-03-13T23:59:59.999Z'))).toBe(false);
  });
});
