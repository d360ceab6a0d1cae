import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, outcomeOf, parseSchedule, retryAfterMs, retryDelayMs } from '../../src/domain/retry';

describe('retry rules', () => {
  const now = new Date('2030-01-01T00:00:00Z');

  it('schedule - seconds, comma-separated; anything else is refused', () => {
    expect(parseSchedule('5,300, 1800')).toEqual([5, 300, 1800]);
    expect(parseSchedule('0.2')).toEqual([0.2]);
    expect(parseSchedule('5,,300')).toBeUndefined();
    expect(parseSchedule('5,-1')).toBeUndefined();
    expect(parseSchedule('soon')).toBeUndefined();
  });

  it('delay - the step of the attempt that failed, within ±20 %; none after the last step', () => {
    const schedule = [5, 300];
    expect(retryDelayMs(1, schedule, 0)).toBe(4000);
    expect(retryDelayMs(1, schedule, 0.5)).toBe(5000);
    expect(retryDelayMs(1, schedule, 0.999999)).toBe(6000);
    expect(retryDelayMs(2, schedule, 0.5)).toBe(300_000);
    expect(retryDelayMs(3, schedule, 0.5)).toBeUndefined();
  });

  it('Retry-After - seconds or an HTTP date, never negative, at most a day', () => {
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Tue, 01 Jan 2030 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Mon, 31 Dec 2029 00:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('999999999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs('later', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });

  it('outcome - 2xx delivered, 410 gone, 429/503 with Retry-After wait, 3xx and the rest failed', () => {
    expect(outcomeOf(200, undefined, now)).toEqual({ kind: 'delivered' });
    expect(outcomeOf(204, undefined, now)).toEqual({ kind: 'delivered' });
    expect(outcomeOf(410, undefined, now)).toEqual({ kind: 'gone' });
    expect(outcomeOf(429, '7', now)).toEqual({ kind: 'failed', retryAfterMs: 7000 });
    expect(outcomeOf(503, '7', now)).toEqual({ kind: 'failed', retryAfterMs: 7000 });
    expect(outcomeOf(500, '7', now)).toEqual({ kind: 'failed' });
    expect(outcomeOf(429, undefined, now)).toEqual({ kind: 'failed' });
    expect(outcomeOf(301, undefined, now)).toEqual({ kind: 'failed' });
    expect(outcomeOf(null, undefined, now)).toEqual({ kind: 'failed' });
  });
});
