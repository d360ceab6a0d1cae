import { freePort } from '@allot/local-servers';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { toAppError } from '../src/http/problem';

describe('problems', () => {
  it('problems - the gateway database out of reach is a 503 to retry with the same key, not a 500', async () => {
    // A database nobody listens at: what the driver throws while FerretDB restarts.
    const mongo = new MongoClient(`mongodb://127.0.0.1:${await freePort()}/`, { serverSelectionTimeoutMS: 300 });
    const error = await mongo
      .db('gateway')
      .collection('keys')
      .insertOne({})
      .catch((e: unknown) => e);
    await mongo.close();
    const { error: problem, status } = toAppError(error);
    expect({ code: problem.code, status }).toEqual({ code: 'upstream_unavailable', status: 503 });
    expect(toAppError(new Error('a bug')).status).toBe(500);
  });
});
