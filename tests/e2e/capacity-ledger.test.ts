/**
 * The capacity ledger v2 as clients and operators see it: two replicas deciding one hot date
 * together, idempotent creates, limits against hoarding and cheap refusals of abusive input.
 */
import { startCapacity } from '@allot/capacity';
import { capacityRpc } from '@allot/contracts';
import { RpcClient } from '@allot/kit';
import { connect } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Stack, startStack, today } from './stack';

describe('capacity ledger', () => {
  let stack: Stack;
  let admin: ReturnType<Stack['as']>;
  let tenantId: string;
  let key: string;
  const date = today(1);

  beforeAll(async () => {
    stack = await startStack({ gateway: { RPC_TIMEOUT_MS: '30000' } });
    ({ tenantId, key } = await stack.newTenant());
    admin = stack.as(key);
  });
  afterAll(() => stack.stop());

  const newSession = async (maxCapacity: number) =>
    (await admin('POST', '/v1/sessions', { name: 'Hot date', maxCapacity })).body as { id: string };

  it('ledger - two replicas and 300 concurrent mixed requests on one date: never oversold, booked is the sum of live bookings, every 201 listed once', async () => {
    // A second replica of the capacity service on the same NATS and database.
    const second = await startCapacity({
      NATS_URL: stack.natsUrl,
      MONGO_URL: inject('mongoUrl'),
      MONGO_DB: stack.capacityDb,
      PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    });
    const session = await newSession(120);
    const made: string[] = [];
    const gone: string[] = [];
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const res = await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1 + (i % 4), hold: i % 3 === 0 });
        expect([201, 409]).toContain(res.status);
        if (res.status !== 201) return expect(res.body.code).toBe('capacity_exhausted');
        made.push(res.body.id);
        if (i % 7 === 0) {
          expect((await admin('POST', `/v1/bookings/${res.body.id}/cancel`)).status).toBe(200);
          gone.push(res.body.id);
        } else if (res.body.status === 'held' && i % 2 === 0) {
          expect((await admin('POST', `/v1/bookings/${res.body.id}/confirm`)).status).toBe(200);
        }
      }),
    );

    const client = await new MongoClient(inject('mongoUrl')).connect();
    try {
      const db = client.db(stack.capacityDb);
      const ledger = await db.collection('slots').findOne({ _id: `${session.id}:${date}` as never });
      const live = await db
        .collection('bookings')
        .find({ sessionId: session.id, date, status: { $in: ['held', 'confirmed'] } })
        .toArray();
      expect(ledger?.booked).toBe(live.reduce((sum, b) => sum + (b.slots as number), 0));
      expect(ledger?.booked).toBeLessThanOrEqual(120);
      expect(ledger?.available).toBe(120 - (ledger?.booked as number));
      expect(new Set(made).size).toBe(made.length);
      expect(live.map((b) => b._id as unknown as string).sort()).toEqual(made.filter((id) => !gone.includes(id)).sort());
      expect(ledger?.booked).toBeGreaterThan(100); // the date really was fought over to the end
    } finally {
      await client.close();
      await second.stop();
    }
  });

  it('ledger - a create retried under the same idempotency key (the gateway lost its record, or timed out) makes one booking', async () => {
    const session = await newSession(10);
    const nc = await connect({ servers: stack.natsUrl });
    try {
      const rpc = new RpcClient(nc);
      const call = () =>
        rpc.call(
          'capacity',
          'booking.create',
          capacityRpc['booking.create'],
          { sessionId: session.id, date, adults: 2 },
          {
            tenantId,
            actor: { kind: 'apiKey', keyId: 'k_test' },
            idempotencyKey: 'same-request',
          },
        );
      const [a, b] = await Promise.all([call(), call()]);
      const c = await call();
      expect(b.id).toBe(a.id);
      expect(c.id).toBe(a.id);
    } finally {
      await nc.drain();
    }
    const check = await admin('GET', `/v1/capacity/check?sessionId=${session.id}&date=${date}&slots=1`);
    expect(check.body.availableSlots).toBe(8);
    expect((await admin('GET', `/v1/bookings?sessionId=${session.id}`)).body.items).toHaveLength(1);
  });

  it('limits - a user token may not choose a booking type, nor hoard past the tenant limits; an API key may change them', async () => {
    const session = await newSession(100);
    const user = stack.as(await stack.userToken(key, 'hoarder'));
    const gold = await user('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1, bookingType: 'private_gold' });
    expect(gold.status).toBe(403);
    expect(
      (await user('POST', '/v1/queue', { sessionId: session.id, date, requestedSlots: 1, bookingType: 'private_silver' })).status,
    ).toBe(403);

    // Only capacity runs in this stack: the limits of the services that are not deployed are left out.
    expect((await admin('GET', '/v1/limits')).body).toEqual({
      maxPartySize: 50,
      maxHeldSlotsPerUser: 20,
      maxPendingEntriesPerUser: 5,
      maxConfirmedSlotsPerUser: 50,
    });
    const party = await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 40, children: 11 });
    expect(party.status).toBe(409);
    expect(party.body).toMatchObject({ code: 'conflict', limit: 'maxPartySize' });

    expect((await user('PATCH', '/v1/limits', { maxHeldSlotsPerUser: 1000 })).status).toBe(403);
    const changed = await admin('PATCH', '/v1/limits', { maxHeldSlotsPerUser: 5, maxPendingEntriesPerUser: 1 });
    expect(changed.body).toMatchObject({ maxHeldSlotsPerUser: 5, maxPendingEntriesPerUser: 1, maxPartySize: 50 });
    expect((await user('POST', '/v1/bookings', { sessionId: session.id, date, adults: 4, hold: true })).status).toBe(201);
    const tooMany = await user('POST', '/v1/bookings', { sessionId: session.id, date, adults: 2, hold: true });
    expect(tooMany.status).toBe(409);
    expect(tooMany.body).toMatchObject({ limit: 'maxHeldSlotsPerUser', heldSlots: 4 });
    expect((await user('POST', '/v1/bookings', { sessionId: session.id, date, adults: 2 })).status).toBe(201); // confirmed: not a hold

    const full = await newSession(1);
    await admin('POST', '/v1/bookings', { sessionId: full.id, date, adults: 1 });
    expect((await user('POST', '/v1/queue', { sessionId: full.id, date, requestedSlots: 1 })).status).toBe(201);
    const second = await user('POST', '/v1/queue', { sessionId: full.id, date: today(2), requestedSlots: 1 });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ limit: 'maxPendingEntriesPerUser' });
  });

  it('limits - a user token confirms at most maxConfirmedSlotsPerUser slots per session and date, booked directly or by confirming a hold; an API key is not limited', async () => {
    const own = await stack.newTenant();
    const admin = stack.as(own.key);
    const session = (await admin('POST', '/v1/sessions', { name: 'Popular', maxCapacity: 100 })).body;
    const other = (await admin('POST', '/v1/sessions', { name: 'Also popular', maxCapacity: 100 })).body;
    const user = stack.as(await stack.userToken(own.key, 'collector'));
    expect((await admin('PATCH', '/v1/limits', { maxConfirmedSlotsPerUser: 6 })).body).toMatchObject({
      maxConfirmedSlotsPerUser: 6,
      maxHeldSlotsPerUser: 20,
    });

    expect((await user('POST', '/v1/bookings', { sessionId: session.id, date, adults: 4 })).status).toBe(201);
    const direct = await user('POST', '/v1/bookings', { sessionId: session.id, date, adults: 3 });
    expect(direct.status).toBe(409);
    expect(direct.body).toMatchObject({
      code: 'conflict',
      limit: 'maxConfirmedSlotsPerUser',
      maxConfirmedSlotsPerUser: 6,
      confirmedSlots: 4,
    });

    // A hold is bounded by the held-slots limit; confirming it counts against this one.
    const held = await user('POST', '/v1/bookings', { sessionId: session.id, date, adults: 3, hold: true });
    expect(held.status).toBe(201);
    const confirm = await user('POST', `/v1/bookings/${held.body.id}/confirm`);
    expect(confirm.status).toBe(409);
    expect(confirm.body).toMatchObject({ code: 'conflict', limit: 'maxConfirmedSlotsPerUser' });
    expect((await user('GET', `/v1/bookings/${held.body.id}`)).body.status).toBe('held');

    // Within the limit it passes; another date or session has its own allowance; the API key is not limited.
    expect((await user('POST', '/v1/bookings', { sessionId: session.id, date, adults: 2 })).status).toBe(201);
    expect((await user('POST', '/v1/bookings', { sessionId: session.id, date: today(2), adults: 6 })).status).toBe(201);
    expect((await user('POST', '/v1/bookings', { sessionId: other.id, date, adults: 6 })).status).toBe(201);
    expect((await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 20, userId: 'collector' })).status).toBe(201);

    // A retry of the booking that reached the limit (the gateway retrying with its key) returns it, not a refusal.
    const nc = await connect({ servers: stack.natsUrl });
    try {
      const call = () =>
        new RpcClient(nc).call(
          'capacity',
          'booking.create',
          capacityRpc['booking.create'],
          { sessionId: session.id, date: today(3), adults: 6 },
          {
            tenantId: own.tenantId,
            actor: { kind: 'user', userId: 'collector' },
            idempotencyKey: 'to-the-limit',
          },
        );
      const first = await call();
      expect((await call()).id).toBe(first.id);
    } finally {
      await nc.drain();
    }
  });

  it('abuse - an analytics range of thousands of years and dates outside 2000..2100 are refused at once', async () => {
    const session = await newSession(5);
    const started = Date.now();
    const huge = await admin('GET', `/v1/sessions/${session.id}/analytics?from=2000-01-01&to=2100-12-31`);
    expect(huge.status).toBe(400);
    expect(Date.now() - started).toBeLessThan(2000);
    const outside = await admin('GET', `/v1/sessions/${session.id}/analytics?from=0001-01-01&to=9999-12-31`);
    expect(outside.status).toBe(400);
    expect(outside.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['from', 'to']);
    expect((await admin('POST', '/v1/bookings', { sessionId: session.id, date: '2101-01-01', adults: 1 })).status).toBe(400);
  });
});
