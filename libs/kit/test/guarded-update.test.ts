import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectMongo } from '../src/mongo';
import { uniqueName } from '../src/testing';

describe('guarded updates on the real database', () => {
  let conn: Awaited<ReturnType<typeof connectMongo>>;
  beforeAll(async () => {
    conn = await connectMongo(inject('mongoUrl'), uniqueName('guard').toLowerCase());
  });
  afterAll(() => conn.client.close());

  it('guarded update - 100 concurrent decrements of a counter of 50 leave exactly 0 with exactly 50 successes', async () => {
    const counters = conn.db.collection<{ _id: string; available: number }>('counters');
    await counters.insertOne({ _id: 'hot', available: 50 });
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        counters.findOneAndUpdate({ _id: 'hot', available: { $gte: 1 } }, { $inc: { available: -1 } }, { returnDocument: 'after' }),
      ),
    );
    expect(results.filter((r) => r !== null)).toHaveLength(50);
    expect((await counters.findOne({ _id: 'hot' }))?.available).toBe(0);
    const seen = results.filter((r) => r !== null).map((r) => r.available);
    expect(new Set(seen).size).toBe(50); // every success saw its own state: no lost update
  });
});
