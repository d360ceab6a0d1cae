import { IdLists, newId, OutboxCollection } from '@allot/kit';
import { describe, expect, it } from 'vitest';
import { BookingStore } from '../src/store/bookings';
import { capacityUnderTest } from './service-under-test';

describe("capacity: each user's bookings by state (the limits' reads)", () => {
  const under = capacityUnderTest();
  const db = () => under.mongo.db(under.env.MONGO_DB);

  it('bookings stored before the lists existed count once listed; cancelled ones, other dates and other users do not', async () => {
    const { bookings } = under.running.context;
    const tenantId = newId('t');
    const booking = (status: string, slots: number, fields: Record<string, unknown> = {}) => ({
      _id: newId('bk'),
      tenantId,
      userId: 'ann',
      sessionId: 'ses_1',
      date: '2030-01-01',
      status,
      slots,
      ...fields,
    });
    await db()
      .collection('bookings')
      .insertMany([
        booking('held', 2),
        booking('held', 3, { userId: 'bob' }),
        booking('confirmed', 4),
        booking('confirmed', 5, { date: '2030-01-02' }),
        booking('cancelled', 6),
        booking('confirmed', 7, { userId: null }),
      ] as never[]);
    await db()
      .collection('user_bookings')
      .deleteOne({ _id: 'listed-existing' } as never);

    // Until they are listed (lists of their own here, never filled), the bookings themselves are asked.
    const unlisted = new BookingStore(
      new OutboxCollection(db().collection('bookings') as never, undefined as never),
      IdLists.of(db(), newId('lists')),
    );
    expect(await unlisted.heldSlotsOf(tenantId, 'ann')).toBe(2);
    expect(await unlisted.confirmedSlotsOf(tenantId, 'ann', 'ses_1', '2030-01-01')).toBe(4);

    await bookings.listExisting();

    expect(await bookings.heldSlotsOf(tenantId, 'ann')).toBe(2);
    expect(await bookings.heldSlotsOf(tenantId, 'bob')).toBe(3);
    expect(await bookings.confirmedSlotsOf(tenantId, 'ann', 'ses_1', '2030-01-01')).toBe(4);
    expect(await bookings.confirmedSlotsOf(tenantId, 'ann', 'ses_1', '2030-01-02')).toBe(5);
    expect(await bookings.heldSlotsOf(newId('t'), 'ann')).toBe(0);
    expect(
      await db()
        .collection('user_bookings')
        .findOne({ _id: 'listed-existing' } as never),
    ).not.toBeNull();
  });

  it('a booking listed before it is written is kept; one that left the state for good is dropped from the list', async () => {
    const { bookings } = under.running.context;
    const tenantId = newId('t');
    const id = newId('bk');
    const notYet = newId('bk');
    const booking = { tenantId, id, userId: 'cy', sessionId: 'ses_1', date: '2030-01-01', status: 'held', slots: 2 } as never;
    const list = (...key: string[]) =>
      db()
        .collection('user_bookings')
        .findOne({ _id: JSON.stringify(key) } as never);
    const setStatus = (status: string) =>
      db()
        .collection('bookings')
        .updateOne({ _id: id } as never, { $set: { status } });

    await bookings.insertMany([{ tenantId, booking }]);
    await db()
      .collection('user_bookings')
      .updateOne({ _id: JSON.stringify(['held', tenantId, 'cy']) } as never, { $addToSet: { ids: notYet } } as never);
    expect(await bookings.heldSlotsOf(tenantId, 'cy')).toBe(2);

    // Confirming lists it as confirmed first, then moves it.
    await bookings.noteConfirmed(tenantId, booking);
    expect(await bookings.confirmedSlotsOf(tenantId, 'cy', 'ses_1', '2030-01-01')).toBe(0);
    await setStatus('confirmed');
    expect(await bookings.heldSlotsOf(tenantId, 'cy')).toBe(0);
    expect(await bookings.confirmedSlotsOf(tenantId, 'cy', 'ses_1', '2030-01-01')).toBe(2);
    expect((await list('held', tenantId, 'cy'))?.ids).toEqual([notYet]);

    await setStatus('cancelled');
    expect(await bookings.confirmedSlotsOf(tenantId, 'cy', 'ses_1', '2030-01-01')).toBe(0);
    expect((await list('confirmed', tenantId, 'cy', 'ses_1', '2030-01-01'))?.ids).toEqual([]);
  });
});
