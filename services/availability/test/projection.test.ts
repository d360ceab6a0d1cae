import type { EventEnvelope } from '@allot/contracts';
import { newId } from '@allot/kit';
import { testEnv } from '@allot/kit/testing';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadModelCache } from '../src/cache';
import type { SlotState } from '../src/domain/model';
import { Projection } from '../src/projection';
import { ReadModelStore } from '../src/store/read-model';

/** The real store, counting its probes: the writes that ask the database whether figures are new. */
class CountingStore extends ReadModelStore {
  probes = 0;
  override applySlot(slot: SlotState) {
    this.probes++;
    return super.applySlot(slot);
  }
}

describe('availability projection: the events of one ledger batch', () => {
  const env = testEnv();
  let mongo: MongoClient;
  beforeAll(async () => {
    mongo = await MongoClient.connect(env.MONGO_URL as string);
  });
  afterAll(async () => {
    await mongo.db(env.MONGO_DB).dropDatabase();
    await mongo.close();
  });

  it('arriving together, probe the database once and are announced once', async () => {
    const store = new CountingStore(mongo.db(env.MONGO_DB));
    const announced: EventEnvelope[] = [];
    const projection = new Projection(
      {
        event: (tenantId: string, type: string, data: unknown) =>
          ({ id: newId('evt'), type, tenantId, data, occurredAt: new Date().toISOString() }) as never,
        publish: async (envelope) => {
          announced.push(envelope);
        },
      },
      store,
      new ReadModelCache(store, 100),
    );
    const slot: SlotState = {
      tenantId: newId('t'),
      sessionId: newId('ses'),
      date: '2030-01-01',
      maxSlots: 50,
      bookedSlots: 20,
      availableSlots: 30,
      version: 7,
      lastUpdated: new Date().toISOString(),
    };

    // An import's ledger batch: twenty bookings of one date, all carrying the batch's figures.
    await Promise.all(Array.from({ length: 20 }, () => projection.apply({ sessions: [], bookings: [], slots: [slot] })));

    expect(store.probes).toBe(1);
    expect(announced.map((e) => e.id)).toEqual([`avl_${slot.sessionId}_${slot.date}_7`]);
    // A newer batch of the same date goes the batched way, without a probe.
    await projection.apply({ sessions: [], bookings: [], slots: [{ ...slot, bookedSlots: 21, availableSlots: 29, version: 8 }] });
    expect(store.probes).toBe(1);
    expect(announced).toHaveLength(2);
    const stored = await mongo
      .db(env.MONGO_DB)
      .collection('slots')
      .findOne({}, { projection: { _id: 0, version: 1, bookedSlots: 1 } });
    expect(stored).toEqual({ version: 8, bookedSlots: 21 });
  });
});
