import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, openStream, type Stack, startStack, today } from './stack';

describe('waitlist through the gateway', () => {
  let stack: Stack;
  let admin: ReturnType<Stack['as']>;
  let key: string;
  const date = today(1);

  beforeAll(async () => {
    stack = await startStack({ capacity: { QUEUE_SWEEP_MS: '500' } });
    ({ key } = await stack.newTenant());
    admin = stack.as(key);
  });
  afterAll(() => stack.stop());

  const fullSession = async (capacity: number, extra: Record<string, unknown> = {}) => {
    const session = (await admin('POST', '/v1/sessions', { name: 'Sunset', maxCapacity: capacity, ...extra })).body;
    const blocker = await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: capacity });
    expect(blocker.status).toBe(201);
    return { session, blocker: blocker.body };
  };

  it('queue - entries are ordered by priority then arrival, with positions and estimates recomputed', async () => {
    const { session } = await fullSession(4);
    const join = (body: Record<string, unknown>) => admin('POST', '/v1/queue', { sessionId: session.id, date, requestedSlots: 1, ...body });
    const guest = (await join({ guestId: 'g1' })).body; // priority 1
    const user = (await join({ userId: 'u1' })).body; // 3
    const gold = (await join({ bookingType: 'private_gold' })).body; // 4
    const silverUser = (await join({ userId: 'u2', bookingType: 'private_silver' })).body; // 5
    expect([guest.priority, user.priority, gold.priority, silverUser.priority]).toEqual([1, 3, 4, 5]);
    expect(guest.position).toBe(1);

    const status = await admin('GET', `/v1/queue/status?sessionId=${session.id}&date=${date}`);
    expect(status.body.entries.map((e: { id: string }) => e.id)).toEqual([silverUser.id, gold.id, user.id, guest.id]);
    expect(status.body.entries.map((e: { position: number }) => e.position)).toEqual([1, 2, 3, 4]);
    expect(status.body.entries.map((e: { estimatedWaitMinutes: number }) => e.estimatedWaitMinutes)).toEqual([0, 5, 10, 15]);
    expect(status.body).toMatchObject({ totalInQueue: 4, totalRequestedSlots: 4, averageWaitMinutes: 7.5 });
    expect((await admin('GET', `/v1/queue/${guest.id}`)).body.position).toBe(4);

    expect((await admin('DELETE', `/v1/queue/${gold.id}`)).body.status).toBe('cancelled');
    expect((await admin('DELETE', `/v1/queue/${gold.id}`)).status).toBe(409);
    expect((await admin('GET', `/v1/queue/${guest.id}`)).body).toMatchObject({ position: 3, estimatedWaitMinutes: 10 });
  });

  it('queue - freed slots promote entries in priority order, first fit, each at most once', async () => {
    const { session, blocker } = await fullSession(4);
    const join = (requestedSlots: number, body: Record<string, unknown> = {}) =>
      admin('POST', '/v1/queue', { sessionId: session.id, date, requestedSlots, ...body }).then((r) => r.body);
    const big = await join(3, { bookingType: 'private_gold' }); // first in line, but needs 3
    const small = await join(2, { userId: 'u' }); // second
    const smaller = await join(1); // third
    await admin('POST', `/v1/bookings/${blocker.id}/cancel`); // 4 free: big (3) fits, small (2) does not, smaller (1) does

    const states = await Promise.all([big, small, smaller].map((e) => admin('GET', `/v1/queue/${e.id}`).then((r) => r.body)));
    expect(states.map((e) => e.status)).toEqual(['completed', 'pending', 'completed']);
    expect(states[1].position).toBe(1);
    const again = await admin('POST', '/v1/queue/process', { sessionId: session.id, date });
    expect(again.body).toEqual({ promoted: 0 });
    const bookings = (await admin('GET', `/v1/bookings?sessionId=${session.id}&date=${date}`)).body.items;
    const fromQueue = bookings.filter((b: { source: string }) => b.source === 'queue');
    expect(fromQueue.map((b: { queueEntryId: string }) => b.queueEntryId).sort()).toEqual([big.id, smaller.id].sort());
  });

  it('queue - in offer mode a promotion is a held offer; an unconfirmed offer expires and passes to the next entry', async () => {
    const { session, blocker } = await fullSession(2, { queuePromotion: 'offer', offerMinutes: 0.05 });
    const first = (await admin('POST', '/v1/queue', { sessionId: session.id, date, requestedSlots: 2, userId: 'first' })).body;
    const second = (await admin('POST', '/v1/queue', { sessionId: session.id, date, requestedSlots: 2 })).body;
    await admin('POST', `/v1/bookings/${blocker.id}/cancel`);

    const offered = (await admin('GET', `/v1/queue/${first.id}`)).body;
    expect(offered.status).toBe('completed');
    const offer = (await admin('GET', `/v1/bookings/${offered.bookingId}`)).body;
    expect(offer).toMatchObject({ status: 'held', source: 'queue', userId: 'first' });
    expect((await admin('GET', `/v1/queue/${second.id}`)).body.status).toBe('pending');

    // Nobody confirms: after ~3 s the offer expires and the second entry is offered the slots.
    const next = await eventually(async () => {
      const e = (await admin('GET', `/v1/queue/${second.id}`)).body;
      return e.status === 'completed' && e;
    }, 15_000);
    expect((await admin('GET', `/v1/bookings/${offered.bookingId}`)).body.status).toBe('expired');
    const secondOffer = (await admin('GET', `/v1/bookings/${next.bookingId}`)).body;
    expect(secondOffer.status).toBe('held');
    expect((await admin('POST', `/v1/bookings/${secondOffer.id}/confirm`)).body.status).toBe('confirmed');
  });

  it('alerts - crossing a threshold raises alert.raised once; today’s alerts are listed', async () => {
    const stream = openStream(`${stack.base}/v1/stream?channels=alerts`, { authorization: `Bearer ${key}` });
    await stream.response;
    const session = (await admin('POST', '/v1/sessions', { name: 'Hot', maxCapacity: 10 })).body;
    const day = today(0);
    await admin('POST', '/v1/bookings', { sessionId: session.id, date: day, adults: 9 }); // 90 %: not above
    await admin('POST', '/v1/bookings', { sessionId: session.id, date: day, adults: 1 }); // 100 %: crossed
    await admin('POST', '/v1/queue', { sessionId: session.id, date: day, requestedSlots: 1 }); // shortage
    await admin('POST', '/v1/queue', { sessionId: session.id, date: day, requestedSlots: 1 }); // still shortage
    const alerts = await admin('GET', `/v1/capacity/alerts?sessionId=${session.id}`);
    expect(alerts.body.items.map((a: { type: string }) => a.type).sort()).toEqual(['capacity_shortage', 'high_utilization']);
    expect(alerts.body.items[0]).toMatchObject({ sessionId: session.id, sessionName: 'Hot', date: day, message: expect.any(String) });

    await eventually(() => stream.events.length >= 2);
    await new Promise((r) => setTimeout(r, 500));
    const raised = stream.events.map((e) => JSON.parse(e.data)).filter((a) => a.sessionId === session.id);
    expect(raised.map((a) => a.type).sort()).toEqual(['capacity_shortage', 'high_utilization']);
    stream.close();
  });

  it('analytics - utilization, shortage days, queue figures and recommendations follow the capacity README', async () => {
    const session = (await admin('POST', '/v1/sessions', { name: 'Stats', maxCapacity: 10 })).body;
    await admin('POST', '/v1/bookings', { sessionId: session.id, date: today(1), adults: 10 }); // 100 %, shortage
    await admin('POST', '/v1/bookings', { sessionId: session.id, date: today(2), adults: 7 }); // 70 %
    for (let i = 0; i < 21; i++) await admin('POST', '/v1/queue', { sessionId: session.id, date: today(1), requestedSlots: 1 });
    const res = await admin('GET', `/v1/sessions/${session.id}/analytics?from=${today(0)}&to=${today(5)}`);
    expect(res.status).toBe(200);
    expect(res.body.capacityStats).toEqual({ maxCapacity: 10, averageUtilization: 85, peakUtilization: 100, shortageDays: 1 });
    expect(res.body.queueStats).toMatchObject({ totalEntries: 21, completed: 0, cancelled: 0, expired: 0 });
    expect(res.body.recommendations.map((r: { type: string }) => r.type)).toEqual(['increase_capacity', 'add_session']);
    expect((await admin('GET', `/v1/sessions/${session.id}/analytics?from=${today(5)}&to=${today(0)}`)).status).toBe(400);
  });
});

describe('waitlist expiry', () => {
  let stack: Stack;
  let admin: ReturnType<Stack['as']>;
  const date = today(1);
  beforeAll(async () => {
    stack = await startStack({ capacity: { QUEUE_TTL_MINUTES: '0.03' } });
    admin = stack.as((await stack.newTenant()).key);
  });
  afterAll(() => stack.stop());

  const fullSession = async (capacity: number) => {
    const session = (await admin('POST', '/v1/sessions', { name: 'Sunset', maxCapacity: capacity })).body;
    await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: capacity });
    return { session };
  };

  it('queue - an entry nobody serves expires after QUEUE_TTL_MINUTES', async () => {
    const { session } = await fullSession(1);
    const entry = (await admin('POST', '/v1/queue', { sessionId: session.id, date, requestedSlots: 1 })).body;
    expect(Date.parse(entry.expiresAt) - Date.parse(entry.createdAt)).toBeCloseTo(0.03 * 60_000, -2);
    const expired = await eventually(async () => {
      const e = (await admin('GET', `/v1/queue/${entry.id}`)).body;
      return e.status === 'expired' && e;
    }, 15_000);
    expect(expired.position).toBeNull();
  });
});
