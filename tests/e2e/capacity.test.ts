import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, openStream, type Stack, startStack, today } from './stack';

describe('capacity through the gateway', () => {
  let stack: Stack;
  let admin: ReturnType<Stack['as']>;
  let key: string;
  const date = today(1);

  beforeAll(async () => {
    stack = await startStack({ capacity: { HOLD_TTL_SECONDS: '1' } });
    ({ key } = await stack.newTenant());
    admin = stack.as(key);
  });
  afterAll(() => stack.stop());

  const newSession = async (body: Record<string, unknown> = {}) => {
    const res = await admin('POST', '/v1/sessions', { name: 'Morning tour', maxCapacity: 5, ...body });
    expect(res.status).toBe(201);
    return res.body as { id: string; maxCapacity: number };
  };

  it('bookings - the lifecycle: book, hold, confirm, cancel, with slots counted and freed', async () => {
    const session = await newSession();
    const booked = await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 2, children: 1 });
    expect(booked.status).toBe(201);
    expect(booked.body).toMatchObject({
      status: 'confirmed',
      slots: 3,
      source: 'direct',
      holdExpiresAt: null,
      userId: null,
      bookingType: 'regular',
    });

    const held = await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 2, hold: true });
    expect(held.body.status).toBe('held');
    expect(Date.parse(held.body.holdExpiresAt)).toBeGreaterThan(Date.now());

    const full = await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1 });
    expect(full.status).toBe(409);
    expect(full.body).toMatchObject({ code: 'capacity_exhausted', availableSlots: 0 });

    const check = await admin('GET', `/v1/capacity/check?sessionId=${session.id}&date=${date}&slots=1`);
    expect(check.body).toMatchObject({
      status: 'queue_required',
      availableSlots: 0,
      canBook: false,
      queuePosition: 1,
      estimatedWaitMinutes: 0,
    });

    const confirmed = await admin('POST', `/v1/bookings/${held.body.id}/confirm`);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.status).toBe('confirmed');
    expect((await admin('POST', `/v1/bookings/${held.body.id}/confirm`)).body.code).toBe('invalid_state');

    const cancelled = await admin('POST', `/v1/bookings/${booked.body.id}/cancel`);
    expect(cancelled.body.status).toBe('cancelled');
    expect((await admin('POST', `/v1/bookings/${booked.body.id}/cancel`)).status).toBe(409);
    const after = await admin('GET', `/v1/capacity/check?sessionId=${session.id}&date=${date}&slots=3`);
    expect(after.body).toMatchObject({ status: 'available', availableSlots: 3, canBook: true });

    const got = await admin('GET', `/v1/bookings/${booked.body.id}`);
    expect(got.body.status).toBe('cancelled');
    const list = await admin('GET', `/v1/bookings?sessionId=${session.id}&status=confirmed`);
    expect(list.body.items.map((b: { id: string }) => b.id)).toEqual([held.body.id]);
  });

  it('bookings - a hold that is not confirmed expires and frees its slots', async () => {
    const session = await newSession({ maxCapacity: 2 });
    const held = await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 2, hold: true });
    expect(held.status).toBe(201);
    expect((await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1 })).status).toBe(409);
    const expired = await eventually(async () => {
      const b = await admin('GET', `/v1/bookings/${held.body.id}`);
      return b.body.status === 'expired' && b.body;
    }, 10_000);
    expect(expired.status).toBe('expired');
    expect((await admin('POST', `/v1/bookings/${held.body.id}/confirm`)).status).toBe(409);
    expect((await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 2 })).status).toBe(201);
  });

  it('validation - bad input is 400 naming each field, a past date is refused, nothing is written', async () => {
    const session = await newSession();
    const bad = await admin('POST', '/v1/bookings', { sessionId: session.id, date: '2026-02-30', adults: 'two', children: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['adults', 'children', 'date']);
    const past = await admin('POST', '/v1/bookings', { sessionId: session.id, date: today(-1), adults: 1 });
    expect(past.status).toBe(400);
    expect(past.body.errors[0].path).toBe('date');
    expect((await admin('GET', `/v1/bookings?sessionId=${session.id}`)).body.items).toEqual([]);
    expect((await admin('POST', '/v1/sessions', { name: '', maxCapacity: 0 })).status).toBe(400);
    expect((await admin('GET', `/v1/capacity/check?sessionId=${session.id}&date=${date}&slots=zero`)).status).toBe(400);
    expect((await admin('GET', '/v1/sessions/ses_nope')).status).toBe(404);
  });

  it('sessions - inactive sessions refuse bookings; updates and listing work', async () => {
    const session = await newSession();
    const patched = await admin('PATCH', `/v1/sessions/${session.id}`, { isActive: false, name: 'Closed tour' });
    expect(patched.body).toMatchObject({ isActive: false, name: 'Closed tour' });
    const refused = await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1 });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('session_inactive');
    const active = await admin('GET', '/v1/sessions?active=true');
    expect(active.body.items.some((s: { id: string }) => s.id === session.id)).toBe(false);
    expect((await admin('PATCH', `/v1/sessions/${session.id}`, {})).status).toBe(400);
  });

  it('users - a user token books for itself and cannot see or cancel another user’s booking or entry', async () => {
    const session = await newSession();
    const alice = stack.as(await stack.userToken(key, 'alice'));
    const bob = stack.as(await stack.userToken(key, 'bob'));
    expect((await alice('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1, userId: 'mallory' })).status).toBe(403);
    const mine = await alice('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1 });
    expect(mine.status).toBe(201);
    expect(mine.body.userId).toBe('alice');
    expect((await bob('GET', `/v1/bookings/${mine.body.id}`)).status).toBe(404);
    expect((await bob('POST', `/v1/bookings/${mine.body.id}/cancel`)).status).toBe(404);
    expect((await bob('GET', '/v1/bookings')).body.items).toEqual([]);
    expect((await alice('GET', '/v1/bookings')).body.items.map((b: { id: string }) => b.id)).toEqual([mine.body.id]);
    expect((await alice('POST', '/v1/sessions', { name: 'x', maxCapacity: 1 })).status).toBe(403);
    expect((await alice('GET', '/v1/capacity/alerts')).status).toBe(403);

    const entry = await alice('POST', '/v1/queue', { sessionId: session.id, date: today(2), requestedSlots: 9 });
    expect(entry.status).toBe(201);
    expect(entry.body.userId).toBe('alice');
    expect((await bob('GET', `/v1/queue/${entry.body.id}`)).status).toBe(404);
    expect((await bob('DELETE', `/v1/queue/${entry.body.id}`)).status).toBe(404);
    expect((await bob('GET', '/v1/queue/mine')).body.items).toEqual([]);
    expect((await alice('GET', '/v1/queue/mine')).body.items.map((e: { id: string }) => e.id)).toEqual([entry.body.id]);

    const other = await stack.newTenant();
    expect((await stack.as(other.key)('GET', `/v1/bookings/${mine.body.id}`)).status).toBe(404);
    expect((await stack.as(other.key)('GET', `/v1/sessions/${session.id}`)).status).toBe(404);
  });

  it('capacity - lowering below booked is refused naming the dates; a raise promotes the waitlist', async () => {
    const session = await newSession({ maxCapacity: 3 });
    await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 3 });
    const refused = await admin('PUT', `/v1/sessions/${session.id}/capacity`, { maxCapacity: 2 });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'capacity_below_booked', dates: [{ date, bookedSlots: 3 }] });
    const oneDate = await admin('PUT', `/v1/sessions/${session.id}/capacity`, { maxCapacity: 1, date });
    expect(oneDate.status).toBe(409);

    const waiting = await admin('POST', '/v1/queue', { sessionId: session.id, date, requestedSlots: 2 });
    expect(waiting.body).toMatchObject({ status: 'pending', position: 1 });
    const raised = await admin('PUT', `/v1/sessions/${session.id}/capacity`, { maxCapacity: 5, reason: 'bigger bus' });
    expect(raised.status).toBe(200);
    expect(raised.body).toEqual({ sessionId: session.id, date: null, oldCapacity: 3, newCapacity: 5, reason: 'bigger bus' });
    const promoted = await admin('GET', `/v1/queue/${waiting.body.id}`);
    expect(promoted.body).toMatchObject({ status: 'completed', bookingId: expect.any(String) });
    const booking = await admin('GET', `/v1/bookings/${promoted.body.bookingId}`);
    expect(booking.body).toMatchObject({ source: 'queue', queueEntryId: waiting.body.id, status: 'confirmed', slots: 2 });

    const override = await admin('PUT', `/v1/sessions/${session.id}/capacity`, { maxCapacity: 8, date: today(3) });
    expect(override.body).toMatchObject({ date: today(3), oldCapacity: 5, newCapacity: 8 });
    expect((await admin('GET', `/v1/capacity/check?sessionId=${session.id}&date=${today(3)}&slots=8`)).body.canBook).toBe(true);
  });

  it('capacity - a refusal says in plain words how many slots are left', async () => {
    const session = await newSession({ maxCapacity: 1 });
    const refused = await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 2 });
    expect(refused.body).toMatchObject({ code: 'capacity_exhausted', detail: 'Only 1 slot left', availableSlots: 1 });
  });

  it('metrics - requests, bookings by result and SSE connections are exported as Prometheus text', async () => {
    const session = await newSession({ maxCapacity: 1 });
    await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1 });
    await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1 });
    const stream = openStream(`${stack.base}/v1/stream?channels=bookings`, { authorization: `Bearer ${key}` });
    expect((await stream.response).status).toBe(200);
    expect((await fetch(`${stack.base}/metrics`)).status).toBe(404); // operations port only
    const text = await (await fetch(`${stack.ops}/metrics`)).text();
    stream.close();
    expect(text).toMatch(/allot_sse_connections(\{[^}]*\})? [1-9]/);
    expect(text).toMatch(/allot_bookings_total\{[^}]*result="confirmed"[^}]*\} [1-9]/);
    expect(text).toMatch(/allot_bookings_total\{[^}]*result="capacity_exhausted"[^}]*\} [1-9]/);
    expect(text).toContain('allot_http_request_duration_seconds_bucket');
    expect(text).toContain('allot_rpc_handler_duration_seconds_bucket');
  });
});
