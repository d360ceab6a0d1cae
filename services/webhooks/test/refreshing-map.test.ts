import { describe, expect, it } from 'vitest';
import { RefreshingMap } from '../src/refreshing-map';

/** A read per call, answered when the test says so, with the value it is given. */
function reads() {
  const pending: { key: string; answer(value: string): void; fail(error: Error): void }[] = [];
  const read = (key: string) =>
    new Promise<string>((resolve, reject) => {
      pending.push({ key, answer: resolve, fail: reject });
    });
  return { pending, read };
}

const settled = () => new Promise((r) => setImmediate(r));

describe('RefreshingMap', () => {
  it('answers from one read for half its life, then at once while reading again in the background', async () => {
    let now = 0;
    const { pending, read } = reads();
    const map = new RefreshingMap<string, string>({ now: () => new Date(now) }, 2000, read);

    const first = map.get('t');
    expect(map.get('t')).toBe(first); // concurrent misses share the read
    pending[0]?.answer('v1');
    expect(await first).toBe('v1');
    now = 999;
    expect(await map.get('t')).toBe('v1');
    expect(pending).toHaveLength(1);

    now = 1000; // half its life: still answers, and reads again
    expect(await map.get('t')).toBe('v1');
    expect(pending).toHaveLength(2);
    expect(await map.get('t')).toBe('v1'); // one refresh at a time
    expect(pending).toHaveLength(2);
    pending[1]?.answer('v2');
    await settled();
    expect(await map.get('t')).toBe('v2');

    // The refreshed value counts from when its read started (1000): at 3000 it has expired.
    now = 3000;
    const expired = map.get('t');
    expect(pending).toHaveLength(3);
    pending[2]?.answer('v3');
    expect(await expired).toBe('v3');
  });

  it('never answers a value older than its life: an unused entry past it waits for a read', async () => {
    let now = 0;
    const { pending, read } = reads();
    const map = new RefreshingMap<string, string>({ now: () => new Date(now) }, 2000, read);
    const first = map.get('t');
    pending[0]?.answer('v1');
    await first;
    now = 2000;
    const next = map.get('t');
    pending[1]?.answer('v2');
    expect(await next).toBe('v2');
  });

  it('a delete wins over a refresh under way; a failed read is not kept', async () => {
    let now = 0;
    const { pending, read } = reads();
    const map = new RefreshingMap<string, string>({ now: () => new Date(now) }, 2000, read);
    const first = map.get('t');
    pending[0]?.answer('v1');
    await first;
    now = 1500;
    await map.get('t'); // starts a refresh (pending[1])
    map.delete('t');
    const fresh = map.get('t');
    pending[2]?.answer('after the change');
    expect(await fresh).toBe('after the change');
    pending[1]?.answer('before the change');
    await settled();
    expect(await map.get('t')).toBe('after the change');

    map.delete('t');
    const failing = map.get('t');
    pending[3]?.fail(new Error('down'));
    await expect(failing).rejects.toThrow('down');
    const again = map.get('t');
    expect(pending).toHaveLength(5);
    pending[4]?.answer('back');
    expect(await again).toBe('back');
  });
});
