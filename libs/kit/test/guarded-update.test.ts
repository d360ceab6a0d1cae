import type { IndexDescription } from 'mongodb';
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

describe('index bootstrap', () => {
  it('indexes - ensuring the same indexes twice (a second replica starting) succeeds', async () => {
    const conn = await connectMongo(inject('mongoUrl'), uniqueName('idx').toLowerCase());
    const { ensureIndexes } = await import('../src/mongo');
    const specs: Record<string, IndexDescription[]> = { items: [{ key: { tenantId: 1 } }, { key: { code: 1 }, unique: true }] };
    await ensureIndexes(conn.db, specs);
    await ensureIndexes(conn.db, specs);
    const names = (await conn.db.collection('items').listIndexes().toArray()).map((i) => i.name).sort();
    expect(names).toEqual(['_id_', 'code_1', 'tenantId_1']);
    await conn.client.close();
  });

  it('indexes - the local FerretDB builds unique indexes, enforced, and records the others unbuilt (nothing there reads them)', async () => {
    const conn = await connectMongo(inject('mongoUrl'), uniqueName('idx').toLowerCase());
    const { ensureIndexes } = await import('../src/mongo');
    await ensureIndexes(conn.db, { items: [{ key: { tenantId: 1 } }, { key: { code: 1 }, unique: true }] });
    const items = conn.db.collection('items');
    await items.insertMany(Array.from({ length: 100 }, (_, i) => ({ tenantId: `t${i % 3}`, code: `c${i}` })));
    await expect(items.insertOne({ tenantId: 't0', code: 'c7' })).rejects.toMatchObject({ code: 11000 });
    const sizes = (await conn.db.command({ collStats: 'items' })).indexSizes as Record<string, number>;
    expect(sizes.code_1).toBeGreaterThan(0);
    expect(sizes.tenantId_1 ?? 0).toBe(0);
    expect(await items.countDocuments({ tenantId: 't1' })).toBe(33); // read as before, by a scan
    await items.dropIndex('tenantId_1'); // dropping an unbuilt index works as dropping a built one
    expect((await items.listIndexes().toArray()).map((i) => i.name).sort()).toEqual(['_id_', 'code_1']);
    await conn.client.close();
  });
});
