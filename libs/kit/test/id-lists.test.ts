import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { IdLists } from '../src/id-lists';
import { uniqueName } from '../src/testing';

interface Thing {
  _id: string;
  state: 'open' | 'closed';
}

describe('id lists', () => {
  let mongo: MongoClient;
  let lists: IdLists;
  let db: ReturnType<MongoClient['db']>;
  let things: ReturnType<typeof db.collection>;
  const read = async (ids: string[]) =>
    (await Promise.all(ids.map((_id) => things.findOne({ _id } as never)))).filter((t) => t !== null) as unknown as Thing[];
  const open = (t: Thing) => t.state === 'open';
  /** What the list under `key` holds, as stored. */
  const listed = async (key: string) => (await db.collection('lists').findOne({ _id: key } as never))?.ids;

  beforeAll(async () => {
    mongo = await new MongoClient(inject('mongoUrl')).connect();
    db = mongo.db(uniqueName('lists').toLowerCase());
    lists = IdLists.of(db, 'lists');
    things = db.collection('things');
  });
  afterAll(async () => {
    await mongo.close();
  });

  it('counts what still counts; drops what is gone for good; keeps an id whose document is not written yet', async () => {
    const key = IdLists.key('open', 'tenant "a"', 'user|1');
    await lists.add([
      { key, id: 'one' },
      { key, id: 'two' },
      { key, id: 'later' },
      { key: IdLists.key('open', 'tenant "a"', 'user|2'), id: 'three' },
    ]);
    await lists.add([{ key, id: 'one' }]); // listed twice: counted once
    await things.insertMany([
      { _id: 'one', state: 'open' },
      { _id: 'two', state: 'closed' },
      { _id: 'three', state: 'open' },
    ] as never[]);

    expect((await lists.counted(key, read, open)).map((t) => t._id)).toEqual(['one']);
    expect(await listed(key)).toEqual(['one', 'later']);

    // A `gone` narrower than "does not count now" keeps what may still come to count.
    await things.updateOne({ _id: 'one' } as never, { $set: { state: 'closed' } });
    expect(await lists.counted(key, read, open, () => false)).toEqual([]);
    expect(await listed(key)).toEqual(['one', 'later']);
  });

  it('fills the lists from what was stored before them once, then only reads its mark', async () => {
    const key = IdLists.key('filled');
    let pages = 0;
    const entries = async function* () {
      pages++;
      for (let i = 0; i < 2500; i++) yield { key, id: `id-${i}` };
    };
    expect(await lists.filled('filled-mark')).toBe(false);
    await lists.fillOnce('filled-mark', entries);
    await lists.fillOnce('filled-mark', entries);
    expect(pages).toBe(1);
    expect(await listed(key)).toHaveLength(2500);
    // Seen done by another replica's lists too (from the mark it left).
    expect(await IdLists.of(db, 'lists').filled('filled-mark')).toBe(true);
  });
});
