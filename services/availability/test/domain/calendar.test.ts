import { describe, expect, it } from 'vitest';
import { datesFrom, lastDates, shiftDate } from '../../src/domain/calendar';

describe('calendar dates', () => {
  it('dates - steps across month, leap day and year ends in UTC', () => {
    expect(shiftDate('2028-02-28', 1)).toBe('2028-02-29');
    expect(shiftDate('2030-01-01', -1)).toBe('2029-12-31');
    expect(datesFrom('2029-12-30', '2030-01-02')).toEqual(['2029-12-30', '2029-12-31', '2030-01-01', '2030-01-02']);
    expect(datesFrom('2030-01-02', '2030-01-01')).toEqual([]);
  });

  it('dates - the last n days end today', () => {
    expect(lastDates(new Date('2030-03-01T23:59:00Z'), 3)).toEqual(['2030-02-27', '2030-02-28', '2030-03-01']);
  });
});
