import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectMongo } from '../src/mongo';
import { readAhead } from '../src/read-ahead';
import { uniqueName } from '../src/testing';

describe('read ahead', () => {
  let mongo: Awaited<ReturnType<typeof connectMongo>>;
  const at = new Date('2026-01-02T03:04:05.000Z');
  beforeAll(async () => {
    mongo = await connectMongo(inject('mongoUrl'), uniqueName('ahead').toLowerCase(), { monitorCommands: true });
    await mongo.db
      .collection<{ _id: string; n: number; note: string | null; at: Date }>('docs')
      .insertMany(Array.from({ length: 25 }, (_, i) => ({ _id: `d${String(i).padStart(2, '0')}`, n: i, note: i % 2 ? 'odd' : null, at })));
  });
  afterAll(() => mongo.client.close());

  const docs = () => mongo.db.collection<{ _id: string; n: number; note: string | null; at: Date }>('docs');

  it('read ahead - every document of a raw cursor, in order and decoded, the next batch asked for while this one is taken', async () => {
    let getMoreStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      getMoreStarted = resolve;
    });
    const onStarted = (e: { commandName: string }) => e.commandName === 'getMore' && getMoreStarted();
    mongo.client.on('commandStarted', onStarted);
    try {
      const cursor = docs().find({}, { batchSize: 10, raw: true }).sort({ _id: 1 });
      const taken = readAhead(cursor);
      const first = await taken.next();
      expect(first.value).toEqual({ _id: 'd00', n: 0, note: null, at });
      // A bare cursor asks for its next batch only once the first 9 are taken: this would never resolve.
      await started;
      const rest = [];
      for await (const doc of taken) rest.push(doc);
      expect(rest.map((d) => d.n)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
      expect(rest[0]).toEqual({ _id: 'd01', n: 1, note: 'odd', at });
      expect(cursor.closed).toBe(true);
    } finally {
      mongo.client.off('commandStarted', onStarted);
    }
  });

  it('read ahead - a caller that stops early closes the cursor on the server', async () => {
    const cursor = docs().find({}, { batchSize: 5, raw: true }).sort({ _id: 1 });
    const taken: number[] = [];
    for await (const doc of readAhead(cursor)) {
      taken.push(doc.n);
      if (taken.length === 7) break;
    }
    expect(taken).toEqual(Array.from({ length: 7 }, (_, i) => i));
    // The batch read ahead left the server's cursor open: it is killed, not left to time out.
    expect(cursor.killed).toBe(true);
  });
});
