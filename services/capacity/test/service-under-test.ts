import { testEnv } from '@allot/kit/testing';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll } from 'vitest';
import { startCapacity } from '../src/service';

/**
 * A capacity service of the test file's own (its sweep held off, so a test sets the state it
 * checks) and a client of its database; started before the file's tests and stopped after.
 */
export function capacityUnderTest() {
  const env = testEnv({ QUEUE_SWEEP_MS: '3600000' });
  const under = {
    env,
    running: undefined as unknown as Awaited<ReturnType<typeof startCapacity>>,
    mongo: undefined as unknown as MongoClient,
  };
  beforeAll(async () => {
    under.running = await startCapacity(env);
    under.mongo = await MongoClient.connect(env.MONGO_URL as string);
  });
  afterAll(async () => {
    await under.running.stop();
    await under.mongo.close();
  });
  return under;
}
