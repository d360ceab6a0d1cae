import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/group-commit';

describe('group commit', () => {
  it('group commit - an idle key commits at once; changes arriving meanwhile form the next batch, answered in order', async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const commits = new GroupCommit<number, string>(async (_key, changes) => {
      batches.push(changes);
      if (batches.length === 1) await new Promise<void>((r) => (release = r)); // the first write is slow
      return changes.map((n) => `done ${n}`);
    });
    const first = commits.submit('k', 1);
    await Promise.resolve();
    expect(batches).toEqual([[1]]); // not held back waiting for a batch to fill
    const rest = [2, 3, 4].map((n) => commits.submit('k', n));
    const other = commits.submit('other key', 9); // another key is not behind this one
    await expect(other).resolves.toBe('done 9');
    release();
    expect(await Promise.all([first, ...rest])).toEqual(['done 1', 'done 2', 'done 3', 'done 4']);
    expect(batches).toEqual([[1], [9], [2, 3, 4]]);
  });

  it('group commit - a failed commit fails its own batch only', async () => {
    const commits = new GroupCommit<number, number>(async (_key, changes) => {
      if (changes.includes(13)) throw new Error('unlucky');
      return changes;
    }, 2);
    const results = await Promise.allSettled([13, 1, 2].map((n) => commits.submit('k', n)));
    // 13 was written alone (the key was idle); 1 and 2 queued behind it and form their own batch.
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
  });
  it('group commit - with two writers a change arriving during a slow write is written beside it, not after it', async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const commits = new GroupCommit<number, string>(
      async (_key, changes) => {
        batches.push(changes);
        if (batches.length === 1) await new Promise<void>((r) => (release = r)); // the first write is slow
        return changes.map((n) => `done ${n}`);
      },
      256,
      2,
    );
    const first = commits.submit('k', 1);
    const second = commits.submit('k', 2);
    await expect(second).resolves.toBe('done 2'); // while the first is still being written
    const rest = [3, 4].map((n) => commits.submit('k', n));
    expect(await Promise.all(rest)).toEqual(['done 3', 'done 4']);
    release();
    await expect(first).resolves.toBe('done 1');
    expect(batches).toEqual([[1], [2], [3], [4]]);
  });
});
