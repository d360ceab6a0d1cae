import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Stack, startStack, today } from './stack';

/** Reads the capacity service's own database to check invariants a client cannot see directly. */
async function ledger(stack: Stack, sessionId: string, date: string) {
  const client = await new MongoClient(inject('mongoUrl')).connect();
  try {
    const db = client.db(stack.capacityDb);
    const slot = await db.collection('slots').findOne({ _id: `${sessionId}:${date}` as never });
    const live = await db
      .collection('bookings')
      .find({ sessionId, date, status: { $in: ['held', 'confirmed'] } })
      .toArray();
    return { slot, live };
  } finally {
    await client.close();
  }
}

describe('capacity under concurrency', () => {
  let stack: Stack;
  let admin: ReturnType<Stack['as']>;
  const date = today(1);

  beforeAll(async () => {
    // Hundreds of requests queue up behind one database: give them time rather than 503s.
    stack = await startStack({ gateway: { RPC_TIMEOUT_MS: '30000' } });
    admin = stack.as((await stack.newTenant()).key);
  });
  afterAll(() => stack.stop());

  it('concurrency - 300 simultaneous bookings and holds with cancels and a capacity change never oversell', async () => {
    const session = (await admin('POST', '/v1/sessions', { name: 'Hot key', maxCapacity: 100 })).body;
    const made: string[] = [];
    const cancelled: string[] = [];
    const requests = Array.from({ length: 300 }, async (_, i) => {
      const res = await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1 + (i % 3), hold: i % 4 === 0 });
      expect([201, 409]).toContain(res.status);
      if (res.status === 201) {
        made.push(res.body.id);
        if (i % 5 === 0) {
          expect((await admin('POST', `/v1/bookings/${res.body.id}/cancel`)).status).toBe(200);
          cancelled.push(res.body.id);
        }
      } else {
        expect(res.body.code).toBe('capacity_exhausted');
      }
    });
    const capacityChange = (async () => {
      await new Promise((r) => setTimeout(r, 50));
      return admin('PUT', `/v1/sessions/${session.id}/capacity`, { maxCapacity: 120, date });
    })();
    await Promise.all([...requests, capacityChange]);
    expect((await capacityChange).status).toBe(200);

    const { slot, live } = await ledger(stack, session.id, date);
    const liveSlots = live.reduce((sum, b) => sum + (b.slots as number), 0);
    expect(slot?.booked).toBe(liveSlots); // the final booked count equals the sum of live bookings
    expect(slot?.booked).toBeLessThanOrEqual(slot?.maxSlots);
    expect(slot?.maxSlots).toBe(120);
    expect(slot?.available).toBe(120 - (slot?.booked as number));
    // Every 201 is a booking, listed once; those not cancelled are exactly the live ones.
    expect(new Set(made).size).toBe(made.length);
    expect(live.map((b) => b._id as unknown as string).sort()).toEqual(made.filter((id) => !cancelled.includes(id)).sort());
    expect(made.length).toBeGreaterThan(40);
  });

  it('concurrency - 20 concurrent cancels free capacity and every waitlist entry is promoted at most once', async () => {
    const session = (await admin('POST', '/v1/sessions', { name: 'Race', maxCapacity: 20 })).body;
    const bookings = [];
    for (let i = 0; i < 20; i++) bookings.push((await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1 })).body);
    const entries = [];
    for (let i = 0; i < 30; i++) entries.push((await admin('POST', '/v1/queue', { sessionId: session.id, date, requestedSlots: 1 })).body);

    await Promise.all([
      ...bookings.map((b) => admin('POST', `/v1/bookings/${b.id}/cancel`)),
      ...Array.from({ length: 5 }, () => admin('POST', '/v1/queue/process', { sessionId: session.id, date })),
    ]);

    const { slot, live } = await ledger(stack, session.id, date);
    const fromQueue = live.filter((b) => b.source === 'queue');
    const perEntry = new Map<string, number>();
    for (const b of fromQueue) perEntry.set(b.queueEntryId as string, (perEntry.get(b.queueEntryId as string) ?? 0) + 1);
    expect([...perEntry.values()].every((n) => n === 1)).toBe(true);
    expect(fromQueue).toHaveLength(20); // every freed slot went to the queue
    expect(slot?.booked).toBe(20);
    const states = await Promise.all(entries.map((e) => admin('GET', `/v1/queue/${e.id}`).then((r) => r.body.status)));
    expect(states.filter((s) => s === 'completed')).toHaveLength(20);
    expect(states.filter((s) => s === 'pending')).toHaveLength(10);
  });
});
