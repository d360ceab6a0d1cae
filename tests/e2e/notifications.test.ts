import { type EventEnvelope, eventSubject, type Order } from '@allot/contracts';
import { defineService, EventPublisher, makeEvent, systemClock } from '@allot/kit';
import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, openStream, type Stack, startStack, today } from './stack';

const order = (fields: Partial<Order>): Order => ({
  id: `ord_${Math.random().toString(36).slice(2)}`,
  sku: 'WIDGET-1',
  qty: 3,
  userId: null,
  status: 'reserved',
  supplierRef: null,
  supplierChecks: 0,
  history: [],
  blockedBy: null,
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
  ...fields,
});

describe('notifications through the gateway', () => {
  let stack: Stack;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let inventory: EventPublisher;

  beforeAll(async () => {
    stack = await startStack({ notifications: {} });
    nc = await connect({ servers: stack.natsUrl });
    js = jetstream(nc);
    inventory = new EventPublisher(js, 'inventory');
  });
  afterAll(async () => {
    await nc.drain();
    await stack.stop();
  });

  /** The same event delivered twice as two messages (JetStream's duplicate window does not catch it). */
  const publishTwice = async (envelope: EventEnvelope) => {
    const subject = eventSubject('inventory', envelope.tenantId, envelope.type);
    for (const copy of ['a', 'b']) await js.publish(subject, JSON.stringify(envelope), { msgID: `${envelope.id}-${copy}` });
  };
  const feed = async (key: string, query = '') => {
    const res = await stack.as(key)('GET', `/v1/notifications${query}`);
    expect(res.status).toBe(200);
    return res.body as { items: any[]; nextCursor: string | null; unreadCount: number };
  };

  it('notifications - bookings, the waitlist and capacity alerts notify the right user or the admins, once each', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    const alice = await stack.userToken(key, 'alice');
    const bob = await stack.userToken(key, 'bob');
    const date = today();
    const session = (await admin('POST', '/v1/sessions', { name: 'Sunrise walk', maxCapacity: 2 })).body;

    const booking = await stack.as(alice)('POST', '/v1/bookings', { sessionId: session.id, date, adults: 2 });
    expect(booking.status).toBe(201);
    expect((await stack.as(bob)('POST', '/v1/queue', { sessionId: session.id, date, requestedSlots: 1 })).status).toBe(201);
    expect((await stack.as(alice)('POST', `/v1/bookings/${booking.body.id}/cancel`)).status).toBe(200);

    const aliceFeed = await eventually(async () => {
      const f = await feed(alice);
      return f.items.length === 2 && f;
    });
    expect(aliceFeed.items.map((n) => [n.type, n.title])).toEqual([
      ['booking_status', 'Booking cancelled'],
      ['booking_status', 'Booking confirmed'],
    ]);
    expect(aliceFeed.items[1]).toMatchObject({
      recipient: 'user:alice',
      severity: 'info',
      readAt: null,
      message: `Your booking of 2 places on ${date} is confirmed.`,
      data: { bookingId: booking.body.id, sessionId: session.id, date },
    });
    expect(aliceFeed.unreadCount).toBe(2);

    const bobFeed = await eventually(async () => {
      const f = await feed(bob);
      return f.items.some((n) => n.type === 'queue_promoted') && f.items.length === 2 && f;
    });
    expect(bobFeed.items.map((n) => n.type).sort()).toEqual(['booking_status', 'queue_promoted']);
    expect(bobFeed.items.find((n) => n.type === 'queue_promoted')).toMatchObject({
      recipient: 'user:bob',
      title: 'You are off the waitlist',
      message: `Your waitlist entry is now a confirmed booking of 1 place on ${date}.`,
    });

    const admins = await eventually(async () => {
      const f = await feed(key);
      return f.items.some((n) => n.type === 'capacity_alert' && n.data.type === 'capacity_shortage') && f;
    });
    for (const n of admins.items) expect(n).toMatchObject({ recipient: 'admins', type: 'capacity_alert', data: { sessionId: session.id } });
    expect(admins.items.find((n) => n.data.type === 'capacity_shortage')).toMatchObject({ severity: 'critical' });
    // Nothing for anyone else's feed: a user never sees the admins feed.
    expect((await feed(alice)).items.every((n) => n.recipient === 'user:alice')).toBe(true);
  });

  it('notifications - order and stock events: the user of the order or else the admins; a duplicated event notifies once', async () => {
    const { key, tenantId } = await stack.newTenant();
    const carol = await stack.userToken(key, 'carol');
    const reserved = makeEvent('inventory', tenantId, 'order.reserved', { order: order({ userId: 'carol' }), reason: null }, systemClock);
    const failed = makeEvent(
      'inventory',
      tenantId,
      'order.failed',
      { order: order({ status: 'failed', qty: 7 }), reason: 'supplier_rejected' },
      systemClock,
    );
    const low = makeEvent('inventory', tenantId, 'stock.low_detected', { sku: 'WIDGET-1', quantity: 2, reorderLevel: 5 }, systemClock);
    for (const e of [reserved, failed, low]) await publishTwice(e);
    // Events no row of the table names notify nobody.
    await inventory.publish(
      makeEvent(
        'inventory',
        tenantId,
        'order.created',
        { order: order({ userId: 'carol', status: 'pending' }), reason: null },
        systemClock,
      ),
    );

    const admins = await eventually(async () => {
      const f = await feed(key);
      return f.items.length >= 2 && f;
    });
    const mine = await eventually(async () => {
      const f = await feed(carol);
      return f.items.length >= 1 && f;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect((await feed(carol)).items).toHaveLength(1);
    expect(mine.items[0]).toMatchObject({
      recipient: 'user:carol',
      type: 'order_status',
      title: 'Order reserved',
      message: 'Stock for your order of 3 × WIDGET-1 is reserved.',
    });
    const adminItems = (await feed(key)).items;
    expect(adminItems).toHaveLength(2);
    expect(admins.items.map((n) => n.type).sort()).toEqual(['low_stock', 'order_status']);
    expect(adminItems.find((n) => n.type === 'order_status')).toMatchObject({
      title: 'Order failed',
      severity: 'warning',
      message: 'Your order of 7 × WIDGET-1 failed (supplier rejected).',
    });
    expect(adminItems.find((n) => n.type === 'low_stock')).toMatchObject({
      recipient: 'admins',
      message: 'WIDGET-1 is down to 2, below its reorder level of 5.',
    });
  });

  it('notifications - a user reads only its own; an id of another tenant is 404; bad input is 400 and changes nothing', async () => {
    const a = await stack.newTenant();
    const b = await stack.newTenant();
    const dave = await stack.userToken(a.key, 'dave');
    const erin = await stack.userToken(a.key, 'erin');
    await inventory.publish(
      makeEvent('inventory', a.tenantId, 'order.reserved', { order: order({ userId: 'dave' }), reason: null }, systemClock),
    );
    const [mine] = (
      await eventually(async () => {
        const f = await feed(dave);
        return f.items.length === 1 && f;
      })
    ).items;

    expect((await stack.as(erin)('POST', `/v1/notifications/${mine.id}/read`)).status).toBe(404);
    expect((await stack.as(a.key)('POST', `/v1/notifications/${mine.id}/read`)).status).toBe(404);
    expect((await stack.as(b.key)('POST', `/v1/notifications/${mine.id}/read`)).status).toBe(404);
    const bad = await stack.as(dave)('GET', '/v1/notifications?limit=0&unread=maybe');
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['limit', 'unread']);
    expect((await stack.as(dave)('POST', '/v1/notifications/not%20an%20id/read')).status).toBe(400);
    expect((await feed(erin)).items).toHaveLength(0);
    expect((await feed(b.key)).items).toHaveLength(0);
    expect((await feed(dave)).unreadCount).toBe(1);

    const read = await stack.as(dave)('POST', `/v1/notifications/${mine.id}/read`);
    expect(read.status).toBe(200);
    expect(read.body.readAt).not.toBeNull();
    const again = await stack.as(dave)('POST', `/v1/notifications/${mine.id}/read`);
    expect(again.body.readAt).toBe(read.body.readAt);
    expect(await feed(dave)).toMatchObject({ unreadCount: 0 });
    expect((await feed(dave, '?unread=true')).items).toHaveLength(0);
  });

  it('notifications - unread counts stay exact while reads, read-alls and new notifications race', async () => {
    const { key, tenantId } = await stack.newTenant();
    const frank = await stack.userToken(key, 'frank');
    const publishOrders = (n: number) =>
      Promise.all(
        Array.from({ length: n }, () =>
          inventory.publish(
            makeEvent('inventory', tenantId, 'order.reserved', { order: order({ userId: 'frank' }), reason: null }, systemClock),
          ),
        ),
      );
    await publishOrders(40);
    const first = await eventually(async () => {
      const f = await feed(frank, '?limit=200');
      return f.items.length === 40 && f;
    });
    expect(first.unreadCount).toBe(40);

    // 20 distinct reads, each sent 3 times at once, alongside 20 new notifications.
    const toRead = first.items.slice(0, 20);
    const reads = toRead.flatMap((n) => [1, 2, 3].map(() => stack.as(frank)('POST', `/v1/notifications/${n.id}/read`)));
    await Promise.all([...reads, publishOrders(20)]);
    const settled = await eventually(async () => {
      const f = await feed(frank, '?limit=200');
      return f.items.length === 60 && f;
    });
    expect(settled.unreadCount).toBe(40);
    expect(settled.items.filter((n) => n.readAt === null)).toHaveLength(40);
    expect((await feed(frank, '?unread=true&limit=200')).items).toHaveLength(40);

    const readAlls = await Promise.all([1, 2, 3, 4].map(() => stack.as(frank)('POST', '/v1/notifications/read-all')));
    expect(readAlls.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(readAlls.reduce((sum, r) => sum + r.body.marked, 0)).toBe(40);
    expect(await feed(frank)).toMatchObject({ unreadCount: 0 });
  });

  it('notifications - new notifications reach the user channel and, for the admins feed, the alerts channel live', async () => {
    const { key, tenantId } = await stack.newTenant();
    const gina = await stack.userToken(key, 'gina');
    const user = openStream(`${stack.base}/v1/stream?channels=user`, { authorization: `Bearer ${gina}` });
    const alerts = openStream(`${stack.base}/v1/stream?channels=alerts`, { authorization: `Bearer ${key}` });
    expect((await user.response).status).toBe(200);
    expect((await alerts.response).status).toBe(200);
    await inventory.publish(
      makeEvent('inventory', tenantId, 'order.reserved', { order: order({ userId: 'gina' }), reason: null }, systemClock),
    );
    await inventory.publish(
      makeEvent('inventory', tenantId, 'stock.low_detected', { sku: 'BOLT', quantity: 0, reorderLevel: 3 }, systemClock),
    );

    const live = await eventually(() => user.events.find((e) => e.event === 'notification.created'));
    expect(JSON.parse(live.data)).toMatchObject({ recipient: 'user:gina', type: 'order_status' });
    const alert = await eventually(() => alerts.events.find((e) => e.event === 'notification.created'));
    expect(JSON.parse(alert.data)).toMatchObject({ recipient: 'admins', type: 'low_stock', severity: 'critical' });
    // The stored notification is the one that was streamed.
    const [stored] = (await feed(gina)).items;
    expect(stored.id).toBe(JSON.parse(live.data).id);
    expect(user.events.some((e) => e.data.includes('"low_stock"'))).toBe(false);
    user.close();
    alerts.close();
  });

  it('notifications - one stored by a process that died before announcing it is announced when its event comes again', async () => {
    const { key, tenantId } = await stack.newTenant();
    const hana = await stack.userToken(key, 'hana');
    const user = openStream(`${stack.base}/v1/stream?channels=user`, { authorization: `Bearer ${hana}` });
    expect((await user.response).status).toBe(200);
    const reserved = makeEvent('inventory', tenantId, 'order.reserved', { order: order({ userId: 'hana' }), reason: null }, systemClock);
    // What the dead process left: the notification of this event, stored, never announced.
    const mongo = await new MongoClient(inject('mongoUrl')).connect();
    const left = {
      _id: 'ntf_leftbyacrashedprocess01',
      tenantId,
      source: reserved.id,
      recipient: 'user:hana',
      type: 'order_status',
      severity: 'info',
      title: 'Order reserved',
      message: 'Stock for your order of 3 × WIDGET-1 is reserved.',
      data: {},
      readAt: null,
      createdAt: new Date().toISOString(),
    };
    try {
      await mongo.db(stack.notificationsDb).collection<{ _id: string }>('notifications').insertOne(left);
    } finally {
      await mongo.close();
    }

    await inventory.publish(reserved);
    const live = await eventually(() => user.events.find((e) => e.event === 'notification.created'));
    expect(JSON.parse(live.data)).toMatchObject({ id: left._id, recipient: 'user:hana', type: 'order_status' });
    expect((await feed(hana)).items.map((n) => n.id)).toEqual([left._id]);
    user.close();
  });

  it('dead letters - a poisoned message is listed for its tenant only; a retry after the fix is processed once; delete removes it', async () => {
    const { key, tenantId } = await stack.newTenant();
    const other = await stack.newTenant();
    const admin = stack.as(key);
    const onlyDeadLetter = async (service: string) =>
      (
        await eventually(async () => {
          const res = await admin('GET', `/v1/admin/dead-letters?service=${service}`);
          return res.body.items.length === 1 && res.body;
        })
      ).items[0];
    // Another service's consumer (any service's dead letters are listed) that fails until it is fixed.
    let broken = true;
    const handled: string[] = [];
    const probe = await defineService({
      name: 'availability',
      context: () => ({}),
      consumers: () => [
        {
          source: 'capacity',
          durable: 'dead-letter-probe',
          filterSubjects: [eventSubject('capacity', tenantId, 'booking.confirmed')],
          maxAttempts: 2,
          backoffMs: [50],
          handler: async (event) => {
            if (broken) throw new Error('read model unavailable');
            handled.push(event.id);
          },
        },
      ],
    }).start({
      NATS_URL: stack.natsUrl,
      MONGO_URL: inject('mongoUrl'),
      MONGO_DB: `probe_${tenantId}`.toLowerCase(),
      PORT: '0',
      LOG_LEVEL: 'silent',
    });
    try {
      const session = (await admin('POST', '/v1/sessions', { name: 'Fragile', maxCapacity: 5 })).body;
      const booking = await admin('POST', '/v1/bookings', { sessionId: session.id, date: today(1), adults: 1 });
      expect(booking.status).toBe(201);

      const dead = await onlyDeadLetter('availability');
      expect(dead).toMatchObject({
        service: 'availability',
        consumer: 'dead-letter-probe',
        subject: eventSubject('capacity', tenantId, 'booking.confirmed'),
        error: 'read model unavailable',
        deliveries: 2,
        failures: 1,
        status: 'dead',
      });
      expect(dead.firstFailedAt).toBe(dead.lastFailedAt);
      expect(JSON.parse(dead.data).data.booking.id).toBe(booking.body.id);
      expect((await admin('GET', '/v1/admin/dead-letters?service=capacity')).body.items).toHaveLength(0);
      expect((await admin('GET', '/v1/admin/dead-letters?service=billing')).status).toBe(400);

      // Another tenant neither sees nor touches it.
      const outsider = stack.as(other.key);
      expect((await outsider('GET', '/v1/admin/dead-letters')).body.items).toHaveLength(0);
      expect((await outsider('POST', `/v1/admin/dead-letters/${dead.id}/retry`)).status).toBe(404);
      expect((await outsider('DELETE', `/v1/admin/dead-letters/${dead.id}`)).status).toBe(404);
      expect((await stack.as(await stack.userToken(key, 'ivan'))('GET', '/v1/admin/dead-letters')).status).toBe(403);

      broken = false;
      const retried = await admin('POST', `/v1/admin/dead-letters/${dead.id}/retry`);
      expect(retried.status).toBe(200);
      expect(retried.body).toMatchObject({ id: dead.id, status: 'retried' });
      await eventually(() => handled.length === 1);
      expect((await admin('POST', `/v1/admin/dead-letters/${dead.id}/retry`)).status).toBe(409);
      await new Promise((r) => setTimeout(r, 500));
      expect(handled).toEqual([JSON.parse(dead.data).id]);
      expect((await admin('GET', '/v1/admin/dead-letters')).body.items).toHaveLength(0);

      // A poisoned event for the notifications service's own consumer: dead-lettered at once, then deleted.
      await inventory.publish({
        ...makeEvent('inventory', tenantId, 'stock.low_detected', { sku: 'NUT', quantity: 1, reorderLevel: 2 }, systemClock),
        data: { sku: 'NUT' },
      });
      const poison = await onlyDeadLetter('notifications');
      expect(poison).toMatchObject({
        consumer: 'notifications-inventory',
        deliveries: 1,
        subject: eventSubject('inventory', tenantId, 'stock.low_detected'),
      });
      expect(poison.error).toContain('quantity');
      const deleted = await admin('DELETE', `/v1/admin/dead-letters/${poison.id}`);
      expect(deleted.status).toBe(200);
      expect((await admin('GET', '/v1/admin/dead-letters?service=notifications')).body.items).toHaveLength(0);
      // The gateway's SSE projection refused the same event: its dead letter is listed too, apart.
      const left = (await admin('GET', '/v1/admin/dead-letters')).body.items;
      expect(left.map((d: { service: string; consumer: string }) => [d.service, d.consumer])).toEqual([
        ['gateway', 'gateway-client-messages'],
      ]);
      expect((await admin('DELETE', `/v1/admin/dead-letters/${poison.id}`)).status).toBe(404);
    } finally {
      await probe.stop();
    }
  });
});
