import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BULK_WRITE_PART, bulkWriteInParts } from '../src/bulk-write';
import { connectMongo } from '../src/mongo';
import { uniqueName } from '../src/testing';

describe('bulk writes in parts', () => {
  let mongo: Awaited<ReturnType<typeof connectMongo>>;
  beforeAll(async () => {
    mongo = await connectMongo(inject('mongoUrl'), uniqueName('bulk').toLowerCase(), { monitorCommands: true });
  });
  afterAll(() => mongo.client.close());

  it('bulk writes - 250 updates (FerretDB never answers one command of 100 or more) are all applied, in parts, and counted', async () => {
    const docs = mongo.db.collection<{ _id: string; n: number }>('counters');
    await docs.insertMany(Array.from({ length: 250 }, (_, i) => ({ _id: `c${i}`, n: 0 })));
    let commands = 0;
    mongo.client.on('commandStarted', (e) => {
      if (e.commandName === 'update') commands++;
    });
    const ops = Array.from({ length: 251 }, (_, i) => ({ updateOne: { filter: { _id: `c${i}` }, update: { $inc: { n: 1 } } } }));
    const result = await bulkWriteInParts(docs, ops);
    expect(result.matchedCount).toBe(250);
    expect(commands).toBe(Math.ceil(251 / BULK_WRITE_PART));
    expect(await docs.countDocuments({ n: 1 })).toBe(250);
  });
});
