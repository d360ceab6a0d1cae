import { afterEach, describe, expect, it, vi } from 'vitest';
import { ScanPace } from '../src/periodic';

describe('ScanPace', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A pace after one scan that took `tookMs`, and whether it is due `after` ms past that scan's start. */
  function afterScan(tookMs: number) {
    vi.useFakeTimers({ toFake: ['Date'] });
    const pace = new ScanPace(30_000);
    const startedAt = Date.now();
    vi.setSystemTime(startedAt + tookMs);
    pace.ran(startedAt);
    const dueAt = (after: number) => {
      vi.setSystemTime(startedAt + after);
      return pace.due();
    };
    return { pace, dueAt };
  }

  it('scan pace - the first scan is due at once', () => {
    expect(new ScanPace(30_000).due()).toBe(true);
  });
  it('scan pace - after a quick scan the next is due after the interval', () => {
    const { dueAt } = afterScan(100);
    expect([dueAt(29_999), dueAt(30_000)]).toEqual([false, true]);
  });
  it('scan pace - after a long scan the next waits twenty times its duration', () => {
    const { dueAt } = afterScan(4_000);
    expect([dueAt(30_000), dueAt(79_999), dueAt(80_000)]).toEqual([false, false, true]);
  });
  it('scan pace - a scan that stopped at a page limit makes the next due at once', () => {
    const { pace, dueAt } = afterScan(4_000);
    pace.again();
    expect(dueAt(4_000)).toBe(true);
  });
});
