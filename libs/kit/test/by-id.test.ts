import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findEachById } from '../src/by-id';
import { uniqueName } from '../src/testing';

describe('reads by id', () => {
  let mongo: MongoClient;
  beforeAll(async () => {
    mongo = await new MongoClient(inject('mongoUrl')).connect();
  });
  afterAll(async () => {
    await mongo.close();
  });

  it('finds each id that exists and matches the filter, in the order asked, with the projection', async () => {
    const docs = mongo.db(uniqueName('byid').toLowerCase()).collection<{ _id: string; marked?: boolean; n: number }>('docs');
    await docs.insertMany([
      { _id: 'a', marked: true, n: 1 },
      { _id: 'b', n: 2 },
      { _id: 'c', marked: true, n: 3 },
    ]);
    expect((await findEachById(docs, ['c', 'missing', 'a', 'b'])).map((d) => d._id)).toEqual(['c', 'a', 'b']);
    expect(await findEachById(docs, ['b', 'c', 'a'], { marked: true }, { projection: { _id: 1 } })).toEqual([{ _id: 'c' }, { _id: 'a' }]);
    expect(await findEachById(docs, [])).toEqual([]);
  });
});
