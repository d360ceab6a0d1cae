import { type LocalServer, startFerret } from '@allot/local-servers';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUnreachable } from '../src/database-errors';
import { insertNew } from '../src/outbox-collection';

// A server of its own: the test kills it.
describe('an insert whose connection is lost', () => {
  let ferret: LocalServer;
  beforeAll(async () => {
    ferret = await startFerret();
  }, 60_000);
  afterAll(async () => {
    await ferret?.stop();
  });

  it('fails (it is not taken for documents stored already), while a real duplicate is reported as stored', async () => {
    const client = await new MongoClient(ferret.url, { serverSelectionTimeoutMS: 1000 }).connect();
    const docs = client.db('lost_insert').collection<{ _id: string }>('docs');
    await docs.insertOne({ _id: 'a' });
    expect(await insertNew(docs, [{ _id: 'a' }, { _id: 'b' }])).toEqual(new Set([0]));

    // The insert is on its way when the server dies: the driver reports a bulk write error that
    // holds no write errors, only the lost connection.
    ferret.signal('SIGSTOP');
    const insert = insertNew(docs, [{ _id: 'c' }, { _id: 'd' }]).then(
      (stored) => ({ stored }),
      (error: Error) => ({ error: error.name, unreachable: databaseUnreachable(error) }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    ferret.signal('SIGKILL');
    // …which callers answer as a fault (503), not as a bug.
    expect(await insert).toEqual({ error: expect.stringMatching(/Mongo/), unreachable: true });
    await client.close(true);
  }, 60_000);
});
