import type { ChildProcess } from 'node:child_process';
import { eventStream, eventSubject } from '@allot/contracts';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, type Stack, startCapacityProcess, startStack, storedEvents, today } from './stack';

/** Every event of a tenant on EVT_CAPACITY, as `bookingId → event types`. */
async function bookingEvents(natsUrl: string, tenantId: string) {
  const byBooking = new Map<string, Set<string>>();
  for (const event of await storedEvents(natsUrl, eventStream('capacity'), eventSubject('capacity', tenantId, 'booking.>'))) {
    const id = (event.data as { booking: { id: string } }).booking.id;
    byBooking.set(id, (byBooking.get(id) ?? new Set()).add(event.type));
  }
  return byBooking;
}

describe('capacity service killed mid-flow', () => {
  let stack: Stack;
  let child: ChildProcess | undefined;
  const env = { QUEUE_SWEEP_MS: '300', HOLD_TTL_SECONDS: '600', REPAIR_AFTER_MS: '2000' };

  beforeAll(async () => {
    stack = await startStack({ capacityInProcess: false, gateway: { RPC_TIMEOUT_MS: '2000' } });
    child = await startCapacityProcess(stack, env);
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await stack.stop();
  });

  it('faults - after SIGKILLs during bookings, cancels and promotions, ledgers, bookings and events agree', async () => {
    const { key, tenantId } = await stack.newTenant();
    const admin = stack.as(key);
    const session = (await admin('POST', '/v1/sessions', { name: 'Fragile', maxCapacity: 30 })).body;
    const date = today(1);
    const accepted: string[] = [];

    const workload = async (ms: number) => {
      const until = Date.now() + ms;
      const worker = async (n: number) => {
        while (Date.now() < until) {
          const res = await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1 + (n % 2), hold: n % 3 === 0 }).catch(
            () => undefined,
          );
          if (res?.status === 201) {
            accepted.push(res.body.id);
            if (Math.random() < 0.4) await admin('POST', `/v1/bookings/${res.body.id}/cancel`).catch(() => undefined);
          } else if (res?.status === 409) {
            await admin('POST', '/v1/queue', { sessionId: session.id, date, requestedSlots: 1 }).catch(() => undefined);
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, n) => worker(n)));
    };

    for (let round = 0; round < 3; round++) {
      const load = workload(1500);
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 900));
      child?.kill('SIGKILL');
      await load;
      child = await startCapacityProcess(stack, env);
    }
    await workload(500);

    const client = await new MongoClient(inject('mongoUrl')).connect();
    try {
      const db = client.db(stack.capacityDb);
      // The restarted service's sweeps finish what the killed ones left: no event stays unpublished.
      await eventually(async () => (await db.collection('slots').countDocuments({ 'outbox.0': { $exists: true } })) === 0, 20_000);
      await eventually(async () => (await db.collection('queue').countDocuments({ 'outbox.0': { $exists: true } })) === 0, 20_000);

      // ...and nothing half done: no change left in flight, no released booking whose slots were not returned.
      const ledgerId = `${session.id}:${date}` as never;
      await eventually(async () => ((await db.collection('slots').findOne({ _id: ledgerId }))?.inflight ?? []).length === 0, 20_000);
      await eventually(async () => (await db.collection('bookings').countDocuments({ releasing: true })) === 0, 20_000);

      const slot = await db.collection('slots').findOne({ _id: ledgerId });
      const liveBookings = await db
        .collection('bookings')
        .find({ sessionId: session.id, date, status: { $in: ['held', 'confirmed'] } })
        .toArray();
      // No slot counted without its booking, no booking without its slot.
      expect(slot?.booked).toBe(liveBookings.reduce((sum, b) => sum + (b.slots as number), 0));
      expect(slot?.booked).toBeLessThanOrEqual(slot?.maxSlots);
      expect(slot?.available).toBe((slot?.maxSlots as number) - (slot?.booked as number));

      // Nothing accepted was lost, and every stored booking's story was announced.
      const all = await db.collection('bookings').find({ sessionId: session.id }).toArray();
      const stored = new Set(all.map((b) => b._id as unknown as string));
      expect(accepted.filter((id) => !stored.has(id))).toEqual([]);
      const events = await bookingEvents(stack.natsUrl, tenantId);
      for (const booking of all) {
        const types = events.get(booking._id as unknown as string);
        expect(types, `events of ${booking._id}`).toBeDefined();
        if (booking.status === 'cancelled') expect(types?.has('booking.cancelled')).toBe(true);
        if (booking.status === 'confirmed') expect(types?.has('booking.confirmed')).toBe(true);
      }
      // A waitlist entry became at most one booking.
      const perEntry = new Map<string, number>();
      for (const b of all.filter((b) => b.queueEntryId)) perEntry.set(b.queueEntryId, (perEntry.get(b.queueEntryId) ?? 0) + 1);
      expect([...perEntry.values()].filter((n) => n > 1)).toEqual([]);
      expect(accepted.length).toBeGreaterThan(10);
    } finally {
      await client.close();
    }
  }, 120_000);
});
