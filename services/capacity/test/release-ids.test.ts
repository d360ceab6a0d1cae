import { CreateBooking, CreateSession } from '@allot/contracts';
import { newId } from '@allot/kit';
import { describe, expect, it } from 'vitest';
import { createBooking, returnSlots } from '../src/bookings';
import { createSession } from '../src/sessions';
import { type SlotDoc, slotId } from '../src/store/slots';
import { capacityUnderTest } from './service-under-test';

describe('capacity slot ledger', () => {
  const under = capacityUnderTest();

  it('ledger - a release left in flight under the id form written before (release:<booking>) is recognised, not applied twice', async () => {
    const { running, mongo, env } = under;
    const cap = running.context;
    const tenantId = newId('t');
    const date = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    const session = await createSession(cap, tenantId, CreateSession.parse({ name: 'Upgrade', maxCapacity: 10 }));
    const { booking } = await createBooking(
      cap,
      tenantId,
      { kind: 'apiKey', keyId: 'k' },
      CreateBooking.parse({ sessionId: session.id, date, adults: 4 }),
    );

    // A crash after the ledger took the slots back, before the booking's mark was cleared, by a
    // version that wrote release ids as `release:<booking id>`: the ledger holds the release in flight.
    const freed = { ...booking, status: 'cancelled' as const };
    await cap.bookings.transition(tenantId, booking.id, ['confirmed'], { status: 'cancelled', releasing: true });
    const slots = mongo.db(env.MONGO_DB).collection<SlotDoc>('slots');
    const inflight = { id: `release:${booking.id}`, kind: 'release' as const, bookingId: booking.id, at: new Date().toISOString() };
    await slots.updateOne({ _id: slotId(session.id, date) }, { $inc: { booked: -4, available: 4, version: 1 }, $push: { inflight } });

    // The sweep (or a retried cancel) returns the slots again: the ledger must see it was done.
    await returnSlots(cap, tenantId, freed);

    const ledger = await slots.findOne({ _id: slotId(session.id, date) });
    expect({ booked: ledger?.booked, available: ledger?.available }).toEqual({ booked: 0, available: 10 });
  });
});
