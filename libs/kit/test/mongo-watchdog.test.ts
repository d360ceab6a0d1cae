import { type LocalServer, startFerret } from '@allot/local-servers';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../src/logger';
import { reconnectWhenStuck } from '../src/mongo-watchdog';
import { eventually } from '../src/testing';

describe('MongoDB client watchdog', () => {
  let ferret: LocalServer;
  beforeAll(async () => {
    ferret = await startFerret();
  }, 60_000);
  afterAll(async () => {
    await ferret?.stop();
  });

  it('a server check that does not end within the limit makes the client connect again, and operations go on', async () => {
    // Checks every half second, so one is under way while the server is paused and cannot end.
    const client = await new MongoClient(ferret.url, { heartbeatFrequencyMS: 500, serverSelectionTimeoutMS: 2000 }).connect();
    const said: string[] = [];
    const log = { error: (_: unknown, msg: string) => said.push(msg), warn: () => {}, info: (msg: string) => said.push(msg) };
    reconnectWhenStuck(client, log as unknown as Logger, 1500);
    const docs = client.db('watchdog').collection<{ _id: string }>('docs');
    await docs.insertOne({ _id: 'before' });

    ferret.signal('SIGSTOP');
    await eventually(() => said.some((m) => m.includes('reconnecting')), 20_000, 100);
    ferret.signal('SIGCONT');
    await eventually(() => said.includes('MongoDB client reconnected'), 20_000, 100);
    await docs.insertOne({ _id: 'after' });
    expect((await docs.find().toArray()).map((d) => d._id)).toEqual(['before', 'after']);
    await client.close();
  }, 60_000);

  it('closed by its owner, the client is left closed', async () => {
    const client = await new MongoClient(ferret.url, { heartbeatFrequencyMS: 500 }).connect();
    const said: string[] = [];
    const log = { error: (_: unknown, msg: string) => said.push(msg), warn: () => {}, info: (msg: string) => said.push(msg) };
    reconnectWhenStuck(client, log as unknown as Logger, 1000);
    await client.close();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(said).toEqual([]);
    // The driver keeps its topology (undeclared in its types) only while connected.
    expect((client as unknown as { topology?: unknown }).topology).toBeUndefined();
  }, 30_000);
});
