import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectMongo } from '../src/mongo';
import { NewestWins } from '../src/newest-wins';
import { uniqueName } from '../src/testing';

describe('newest wins', () => {
  let mongo: Awaited<ReturnType<typeof connectMongo>>;
  beforeAll(async () => {
    mongo = await connectMongo(inject('mongoUrl'), uniqueName('newest').toLowerCase(), { monitorCommands: true });
  });
  afterAll(() => mongo.client.close());

  it.each(['new', 'existing'] as const)(
    'newest wins (expecting %s documents) - versions written at once in any order, some documents already stored: each keeps its newest, in a few commands',
    async (expect_) => {
      const docs = mongo.db.collection<{ _id: string; version: number; label: string }>(`figures-${expect_}`);
      await docs.insertMany([
        { _id: 'stored-older', version: 3, label: 'v3' },
        { _id: 'stored-newer', version: 50, label: 'v50' },
      ]);
      const writer = new NewestWins(docs, 'version', expect_);
      const ids = ['new-a', 'new-b', 'stored-older', 'stored-newer'];
      // Every version 1..20 of each document, shuffled, all written concurrently (redeliveries included).
      const writes = ids.flatMap((_id) => Array.from({ length: 20 }, (_, v) => ({ _id, version: v + 1, label: `v${v + 1}` })));
      writes.push(...writes.slice(0, 10));
      writes.sort(() => Math.random() - 0.5);
      let commands = 0;
      mongo.client.on('commandStarted', () => commands++);
      await Promise.all(writes.map((doc) => writer.write(doc)));

      const stored = Object.fromEntries((await docs.find().toArray()).map((d) => [d._id, d.label]));
      expect(stored).toEqual({ 'new-a': 'v20', 'new-b': 'v20', 'stored-older': 'v20', 'stored-newer': 'v50' });
      expect(commands).toBeLessThan(writes.length / 4); // batched, not one command per write
    },
  );
});
