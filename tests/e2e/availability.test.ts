import { eventStream, eventSubject } from '@allot/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, openStream, type Stack, startStack, storedEvents, today } from './stack';

describe('availability through the gateway', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ availability: true });
  });
  afterAll(() => stack.stop());

  /** Waits until the availability read model shows `booked` slots for the session/date. */
  const bookedShown = (key: string, sessionId: string, date: string, booked: number) =>
    eventually(async () => {
      const res = await stack.as(key)('GET', `/v1/availability?date=${date}&sessionId=${sessionId}`);
      return res.status === 200 && res.body.bookedSlots === booked && res.body;
    });

  it('queries - by date, range, stats and trends show exact figures; a date nobody booked shows the capacity', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    const morning = (await admin('POST', '/v1/sessions', { name: 'Morning', maxCapacity: 20 })).body;
    const evening = (await admin('POST', '/v1/sessions', { name: 'Evening', maxCapacity: 8 })).body;
    const hidden = (await admin('POST', '/v1/sessions', { name: 'Hidden', maxCapacity: 5 })).body;
    const date = today(0);
    const first = await admin('POST', '/v1/bookings', { sessionId: morning.id, date, adults: 3, children: 2 });
    expect(first.status).toBe(201);
    expect((await admin('POST', '/v1/bookings', { sessionId: morning.id, date, adults: 4, hold: true })).status).toBe(201);
    expect((await admin('PUT', `/v1/sessions/${evening.id}/capacity`, { maxCapacity: 12, date: today(1) })).status).toBe(200);
    expect((await admin('PATCH', `/v1/sessions/${hidden.id}`, { isActive: false })).status).toBe(200);

    const one = await bookedShown(key, morning.id, date, 9);
    expect(one).toMatchObject({
      sessionId: morning.id,
      sessionName: 'Morning',
      date,
      maxSlots: 20,
      bookedSlots: 9,
      availableSlots: 11,
      isAvailable: true,
      utilizationPercentage: 45,
    });

    // Every active session: the inactive one disappears once its deactivation arrived.
    const all = await eventually(async () => {
      const res = await admin('GET', `/v1/availability?date=${date}`);
      return res.body.items?.length === 2 && res.body;
    });
    expect(all.items.map((a: { sessionName: string; availableSlots: number }) => [a.sessionName, a.availableSlots])).toEqual([
      ['Morning', 11],
      ['Evening', 8],
    ]);

    const range = await admin('GET', `/v1/availability/range?from=${date}&to=${today(2)}&sessionId=${evening.id}`);
    expect(range.status).toBe(200);
    expect(Object.keys(range.body.dates)).toEqual([date, today(1), today(2)]);
    // The per-date override counts on its date only.
    expect([date, today(1), today(2)].map((d) => range.body.dates[d].maxSlots)).toEqual([8, 12, 8]);

    const stats = await admin('GET', `/v1/availability/stats?date=${date}&sessionId=${morning.id}`);
    expect(stats.body).toEqual(one);

    const trends = await admin('GET', `/v1/availability/trends?sessionId=${morning.id}&days=3`);
    expect(trends.body).toEqual([
      { date: today(-2), bookedSlots: 0, availableSlots: 20, utilizationPercentage: 0 },
      { date: today(-1), bookedSlots: 0, availableSlots: 20, utilizationPercentage: 0 },
      { date, bookedSlots: 9, availableSlots: 11, utilizationPercentage: 45 },
    ]);

    // Peak hours count confirmed bookings only: the hold does not count until it is confirmed.
    const hour = new Date(first.body.createdAt).getUTCHours();
    const peakHours = async () => (await admin('GET', `/v1/availability/peak-hours?sessionId=${morning.id}`)).body;
    await eventually(async () => (await peakHours()).length > 0);
    await new Promise((r) => setTimeout(r, 300)); // the hold's event has long been applied too
    expect(await peakHours()).toEqual([{ hour, bookingCount: 1 }]);
  });

  it('alerts - low and no availability today, high demand tomorrow, with exact figures', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    const low = (await admin('POST', '/v1/sessions', { name: 'Low', maxCapacity: 10 })).body;
    const full = (await admin('POST', '/v1/sessions', { name: 'Full', maxCapacity: 4 })).body;
    const calm = (await admin('POST', '/v1/sessions', { name: 'Calm', maxCapacity: 10 })).body;
    await admin('POST', '/v1/bookings', { sessionId: low.id, date: today(0), adults: 7 });
    await admin('POST', '/v1/bookings', { sessionId: full.id, date: today(0), adults: 4 });
    await admin('POST', '/v1/bookings', { sessionId: full.id, date: today(1), adults: 4 });
    await admin('POST', '/v1/bookings', { sessionId: calm.id, date: today(1), adults: 8 }); // exactly 80 %: not above
    await bookedShown(key, calm.id, today(1), 8);
    await bookedShown(key, full.id, today(1), 4);
    await bookedShown(key, low.id, today(0), 7);
    await bookedShown(key, full.id, today(0), 4);

    const alerts = (await admin('GET', '/v1/availability/alerts')).body.items;
    const summary = alerts.map((a: { type: string; sessionName: string; date: string; availableSlots: number }) => [
      a.type,
      a.sessionName,
      a.date,
      a.availableSlots,
    ]);
    expect(summary).toEqual([
      ['low_availability', 'Low', today(0), 3],
      ['no_availability', 'Full', today(0), 0],
      ['high_demand', 'Full', today(1), 0],
    ]);
    const one = (await admin('GET', `/v1/availability/alerts?sessionId=${low.id}`)).body.items;
    expect(one.map((a: { type: string }) => a.type)).toEqual(['low_availability']);
  });

  it('validation - bad input is 400 naming the field; another tenant’s session is 404', async () => {
    const a = await stack.newTenant();
    const b = await stack.newTenant();
    const session = (await stack.as(a.key)('POST', '/v1/sessions', { name: 'Mine', maxCapacity: 5 })).body;
    const other = stack.as(b.key);
    const cases: [string, string][] = [
      ['/v1/availability?date=2025-02-30', 'date'],
      ['/v1/availability?date=1999-12-31', 'date'],
      ['/v1/availability', 'date'],
      [`/v1/availability/range?from=${today(0)}&to=${today(92)}`, 'to'],
      [`/v1/availability/range?from=${today(2)}&to=${today(1)}`, 'to'],
      [`/v1/availability/trends?sessionId=${session.id}&days=91`, 'days'],
      [`/v1/availability/peak-hours?sessionId=${session.id}&days=0`, 'days'],
      [`/v1/availability/stats?date=${today(0)}`, 'sessionId'],
      [`/v1/availability?date=${today(0)}&extra=1`, 'extra'],
    ];
    for (const [url, field] of cases) {
      const res = await other('GET', url);
      expect(res.status, url).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors.map((e: { path: string }) => e.path).join(' '), url).toContain(field);
    }
    const refresh = await stack.as(a.key)('POST', '/v1/availability/refresh', { date: 'tomorrow' });
    expect(refresh.status).toBe(400);
    expect(refresh.body.errors[0].path).toContain('date');

    // The 92-day range itself is fine.
    expect((await other('GET', `/v1/availability/range?from=${today(0)}&to=${today(91)}`)).status).toBe(200);
    for (const url of [
      `/v1/availability?date=${today(0)}&sessionId=${session.id}`,
      `/v1/availability/stats?date=${today(0)}&sessionId=${session.id}`,
      `/v1/availability/trends?sessionId=${session.id}`,
      `/v1/availability/peak-hours?sessionId=${session.id}`,
      `/v1/availability/alerts?sessionId=${session.id}`,
    ]) {
      expect((await other('GET', url)).status, url).toBe(404);
    }
    expect((await other('POST', '/v1/availability/refresh', { date: today(0), sessionId: session.id })).status).toBe(404);
    // A user token may read but not refresh.
    const user = await stack.userToken(a.key, 'u1');
    expect((await stack.as(user)('GET', `/v1/availability?date=${today(0)}&sessionId=${session.id}`)).status).toBe(200);
    expect((await stack.as(user)('POST', '/v1/availability/refresh', { date: today(0) })).status).toBe(403);
  });

  it('etag - an unchanged answer is 304 to If-None-Match; a change is answered as soon as it is announced', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    const session = (await admin('POST', '/v1/sessions', { name: 'Polled', maxCapacity: 10 })).body;
    const url = `/v1/availability?date=${today(1)}&sessionId=${session.id}`;
    const first = await eventually(async () => {
      const res = await admin('GET', url);
      return res.status === 200 && res;
    });
    const tag = first.headers.get('etag');
    expect(tag).toBeTruthy();
    const again = await admin('GET', url, undefined, { 'if-none-match': tag as string });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');

    // The gateway keeps the answer, but the announcement of a change purges it: once an SSE
    // client has the change, so does every GET.
    const stream = openStream(`${stack.base}/v1/stream?channels=availability.session.${session.id}`, { authorization: `Bearer ${key}` });
    expect((await stream.response).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect((await admin('GET', url)).body.bookedSlots).toBe(0);
    await admin('POST', '/v1/bookings', { sessionId: session.id, date: today(1), adults: 2 });
    await eventually(() => stream.events.length > 0);
    stream.close();
    const changed = await admin('GET', url, undefined, { 'if-none-match': tag as string });
    expect(changed.status).toBe(200);
    expect(changed.body.bookedSlots).toBe(2);
    expect(changed.headers.get('etag')).not.toBe(tag);
  });

  it('live - an SSE client of availability.session.<id> sees every booking with its figures; a reconnect gets exactly what it missed', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    const session = (await admin('POST', '/v1/sessions', { name: 'Live', maxCapacity: 10 })).body;
    const date = today(1);
    const url = `${stack.base}/v1/stream?channels=availability.session.${session.id}`;
    const stream = openStream(url, { authorization: `Bearer ${key}` });
    expect((await stream.response).status).toBe(200);
    await eventually(() => stream.comments.length > 0 || stream.retry !== undefined);

    for (const adults of [1, 2, 3]) expect((await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults })).status).toBe(201);
    await eventually(() => stream.events.length >= 3);
    const seen = stream.events.map((e) => ({ event: e.event, ...JSON.parse(e.data) }));
    expect(seen.map((e) => [e.event, e.bookedSlots, e.availableSlots, e.maxSlots])).toEqual([
      ['availability.updated', 1, 9, 10],
      ['availability.updated', 3, 7, 10],
      ['availability.updated', 6, 4, 10],
    ]);
    const versions = seen.map((e) => e.version as number);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(3);
    const lastId = stream.events.at(-1)?.id as string;
    stream.close();

    // While disconnected: two more changes (a booking and a cancel).
    const booking = (await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 4 })).body;
    await admin('POST', `/v1/bookings/${booking.id}/cancel`);
    await bookedShown(key, session.id, date, 6);
    // Another session's change never shows on this channel.
    const other = (await admin('POST', '/v1/sessions', { name: 'Other', maxCapacity: 3 })).body;
    await admin('POST', '/v1/bookings', { sessionId: other.id, date, adults: 1 });

    const resumed = openStream(url, { authorization: `Bearer ${key}`, 'last-event-id': lastId });
    await eventually(() => resumed.events.length >= 2);
    await new Promise((r) => setTimeout(r, 300)); // anything extra would have arrived by now
    resumed.close();
    const missed = resumed.events.map((e) => JSON.parse(e.data) as { bookedSlots: number; version: number });
    expect(missed.map((e) => e.bookedSlots)).toEqual([10, 6]);
    expect((missed[0]?.version ?? 0) > (versions.at(-1) ?? 0) && (missed[1]?.version ?? 0) > (missed[0]?.version ?? 0)).toBe(true);
  });

  it('sessions - concurrent changes each get their own version, and each event describes the state it produced', async () => {
    const { key, tenantId } = await stack.newTenant();
    const admin = stack.as(key);
    const session = (await admin('POST', '/v1/sessions', { name: 'v0', maxCapacity: 5 })).body;
    const changes = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => admin('PATCH', `/v1/sessions/${session.id}`, { name: `v${i + 1}` })),
      admin('PUT', `/v1/sessions/${session.id}/capacity`, { maxCapacity: 9 }),
    ]);
    expect(changes.map((c) => c.status)).toEqual([200, 200, 200, 200, 200, 200, 200]);
    const events = await eventually(async () => {
      const stored = await storedEvents(stack.natsUrl, eventStream('capacity'), eventSubject('capacity', tenantId, '>'));
      return stored.length === 8 && stored;
    });
    type SessionData = { session?: { name: string; maxCapacity: number }; sessionVersion?: number; newCapacity?: number };
    const byVersion = events.map((e) => e.data as SessionData).sort((a, b) => (a.sessionVersion ?? 0) - (b.sessionVersion ?? 0));
    expect(byVersion.map((d) => d.sessionVersion)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Replaying the events in version order: every session event shows the capacity set before it.
    let capacity = 5;
    for (const data of byVersion) {
      if (data.newCapacity !== undefined) capacity = data.newCapacity;
      else expect(data.session?.maxCapacity).toBe(capacity);
    }
    const last = byVersion.at(-1) as SessionData;
    const final = (await admin('GET', `/v1/sessions/${session.id}`)).body;
    if (last.session) expect(final).toMatchObject({ name: last.session.name, maxCapacity: 9 });
  });
});
