import http from 'node:http';
import v8 from 'node:v8';
import { EventPublisher, makeEvent, systemClock } from '@allot/kit';
import { testNats } from '@allot/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, eventually, nanosOf, openStream, startTestGateway, type TestGateway, userToken } from './harness';

describe('gateway SSE', () => {
  let gw: TestGateway;
  let conn: Awaited<ReturnType<typeof testNats>>;
  let availability: EventPublisher;
  let notifications: EventPublisher;

  beforeAll(async () => {
    gw = await startTestGateway({ SSE_HEARTBEAT_MS: '200' });
    conn = await testNats();
    availability = new EventPublisher(conn.js, 'availability');
    notifications = new EventPublisher(conn.js, 'notifications');
  });
  afterAll(async () => {
    await conn.close();
    await gw.stop();
  });

  const update = (tenantId: string, sessionId: string, date: string, bookedSlots: number, version: number) =>
    availability.publish(
      makeEvent(
        'availability',
        tenantId,
        'availability.updated',
        { sessionId, date, maxSlots: 10, bookedSlots, availableSlots: 10 - bookedSlots, isAvailable: bookedSlots < 10, version },
        systemClock,
      ),
    );
  const url = (channels: string) => `${gw.base}/v1/stream?channels=${channels}`;

  it('sse - channels are checked before the stream opens: 401, 400 for unknown, 403 for not allowed', async () => {
    const { key } = await createTenant(gw);
    const token = await userToken(gw, key, 'u1');
    expect((await gw.call('GET', '/v1/stream?channels=availability')).status).toBe(401);
    const unknown = await gw.call('GET', '/v1/stream?channels=availability,gossip', { key });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].message).toContain('gossip');
    expect((await gw.call('GET', '/v1/stream?channels=availability.2026-02-30', { key })).status).toBe(400);
    expect((await gw.call('GET', '/v1/stream?channels=bookings', { key: token })).status).toBe(403);
    expect((await gw.call('GET', '/v1/stream?channels=user', { key })).status).toBe(403);
    expect((await gw.call('GET', '/v1/stream?channels=availability', { key: gw.rootKey })).status).toBe(403);
  });

  it('sse - retry and heartbeats are sent; updates arrive on matching channels only, never from another tenant', async () => {
    const a = await createTenant(gw);
    const b = await createTenant(gw);
    const all = openStream(url('availability'), { authorization: `Bearer ${a.key}` });
    const oneSession = openStream(url('availability.session.ses_1'), { authorization: `Bearer ${a.key}` });
    const oneDate = openStream(`${url('availability.2030-01-02')}&access_token=${a.key}`);
    for (const s of [all, oneSession, oneDate]) {
      const res = await s.response;
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
    }
    await eventually(() => all.retry === 3000 && all.comments.length > 0);

    await update(b.tenantId, 'ses_1', '2030-01-01', 9, 1); // another tenant
    await update(a.tenantId, 'ses_1', '2030-01-01', 1, 1);
    await update(a.tenantId, 'ses_2', '2030-01-02', 2, 1);
    await eventually(() => all.events.length === 2 && oneSession.events.length === 1 && oneDate.events.length === 1);
    await new Promise((r) => setTimeout(r, 300));

    expect(all.events.map((e) => JSON.parse(e.data).sessionId)).toEqual(['ses_1', 'ses_2']);
    expect(all.events[0]).toMatchObject({ event: 'availability.updated' });
    expect(JSON.parse(all.events[0]!.data)).toMatchObject({ sessionId: 'ses_1', date: '2030-01-01', availableSlots: 9, version: 1 });
    expect(oneSession.events.map((e) => JSON.parse(e.data).sessionId)).toEqual(['ses_1']);
    expect(oneDate.events.map((e) => JSON.parse(e.data).date)).toEqual(['2030-01-02']);
    expect(all.events.some((e) => e.data.includes('"bookedSlots":9'))).toBe(false);
    for (const s of [all, oneSession, oneDate]) s.close();
  });

  it('sse - a client that reconnects with Last-Event-ID gets exactly what it missed, in order, then live messages', async () => {
    const { key, tenantId } = await createTenant(gw);
    const auth = { authorization: `Bearer ${key}` };
    const first = openStream(url('availability'), auth);
    await first.response;
    await update(tenantId, 'ses_r', '2030-03-01', 1, 1);
    await update(tenantId, 'ses_r', '2030-03-01', 2, 2);
    await eventually(() => first.events.length === 2);
    first.close();
    const lastId = first.events[1]!.id!;

    for (let v = 3; v <= 5; v++) await update(tenantId, 'ses_r', '2030-03-01', v, v); // missed while away
    const resumed = openStream(url('availability'), { ...auth, 'last-event-id': lastId });
    await resumed.response;
    await eventually(() => resumed.events.length === 3);
    await update(tenantId, 'ses_r', '2030-03-01', 6, 6); // live after the replay
    await eventually(() => resumed.events.length === 4);
    await new Promise((r) => setTimeout(r, 300));

    const versions = resumed.events.map((e) => JSON.parse(e.data).version);
    expect(versions).toEqual([3, 4, 5, 6]);
    const ids = resumed.events.map((e) => BigInt(e.id as string));
    expect([...ids].sort((x, y) => (x < y ? -1 : 1))).toEqual(ids);
    expect(ids[0]).toBeGreaterThan(BigInt(lastId));

    const byQuery = openStream(`${url('availability')}&lastEventId=${lastId}`, auth);
    await eventually(() => byQuery.events.length === 4);
    expect(byQuery.events.map((e) => JSON.parse(e.data).version)).toEqual([3, 4, 5, 6]);
    resumed.close();
    byQuery.close();
  });

  it("sse - event ids tell a tenant nothing about other tenants' traffic: they are the times of its own messages", async () => {
    const a = await createTenant(gw);
    const b = await createTenant(gw);
    const stream = openStream(url('availability'), { authorization: `Bearer ${a.key}` });
    await stream.response;
    const stored = async () => conn.jsm.direct.getMessage('CLIENT', { last_by_subj: `client.${a.tenantId}.availability.ses_i.2030-04-01` });
    await update(a.tenantId, 'ses_i', '2030-04-01', 1, 1);
    await eventually(() => stream.events.length === 1);
    const firstStored = await stored();
    for (let v = 1; v <= 50; v++) await update(b.tenantId, 'ses_b', '2030-04-01', 1, v); // B is busy meanwhile
    await update(a.tenantId, 'ses_i', '2030-04-01', 2, 2);
    await eventually(() => stream.events.length === 2);
    const secondStored = await stored();
    stream.close();

    // The stream holds B's 50 messages between A's two…
    expect((secondStored?.seq ?? 0) - (firstStored?.seq ?? 0)).toBeGreaterThanOrEqual(51);
    // …but A's ids are when its own messages were stored, which B's traffic does not change.
    const [first, second] = stream.events.map((e) => e.id as string);
    expect(first).toBe(nanosOf(firstStored?.timestamp ?? ''));
    expect(second).toBe(nanosOf(secondStored?.timestamp ?? ''));
    expect(first).toMatch(/^\d{19}$/);
    expect(BigInt(second as string)).toBeGreaterThan(BigInt(first as string));
  });

  it("sse - the user channel carries only that user's notifications", async () => {
    const { key, tenantId } = await createTenant(gw);
    const alice = openStream(url('user'), { authorization: `Bearer ${await userToken(gw, key, 'alice')}` });
    const bob = openStream(url('user'), { authorization: `Bearer ${await userToken(gw, key, 'bob')}` });
    await Promise.all([alice.response, bob.response]);
    const notification = (recipient: string, title: string) => ({
      notification: {
        id: `ntf_${title}`,
        recipient,
        type: 'booking_status',
        title,
        message: title,
        severity: 'info' as const,
        data: {},
        readAt: null,
        createdAt: new Date().toISOString(),
      },
    });
    await notifications.publish(
      makeEvent('notifications', tenantId, 'notification.created', notification('user:alice', 'for-alice'), systemClock),
    );
    await notifications.publish(
      makeEvent('notifications', tenantId, 'notification.created', notification('user:bob', 'for-bob'), systemClock),
    );
    await notifications.publish(
      makeEvent('notifications', tenantId, 'notification.created', notification('admins', 'for-admins'), systemClock),
    );
    await eventually(() => alice.events.length === 1 && bob.events.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(alice.events.map((e) => JSON.parse(e.data).title)).toEqual(['for-alice']);
    expect(bob.events.map((e) => JSON.parse(e.data).title)).toEqual(['for-bob']);
    expect(alice.events[0]!.event).toBe('notification.created');
    alice.close();
    bob.close();
  });

  it('sse - the query is checked as declared: channels required, once', async () => {
    const { key } = await createTenant(gw);
    const missing = await gw.call('GET', '/v1/stream', { key });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([expect.objectContaining({ path: 'channels' })]);
    expect((await gw.call('GET', '/v1/stream?channels=availability&channels=bookings', { key })).status).toBe(400);
  });

  it('sse - an open stream keeps no Web copy of its request headers', async () => {
    const { key } = await createTenant(gw);
    const gc = global.gc as () => void;
    // Plain Node requests: a fetch would make Web Headers on this (the client's) side.
    const open = () =>
      new Promise<http.IncomingMessage>((resolve, reject) => {
        http
          .get(url('availability'), { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' } }, (res) => {
            res.once('data', () => resolve(res));
            res.resume();
          })
          .on('error', reject);
      });
    gc();
    const before = v8.queryObjects(Headers, { format: 'count' });
    const streams = await Promise.all(Array.from({ length: 100 }, open));
    gc();
    const during = v8.queryObjects(Headers, { format: 'count' });
    for (const s of streams) s.destroy();
    expect(during - before).toBeLessThan(10);
  });

  it('sse - 1,000 streams opened and killed leave no listeners, timers or memory behind', async () => {
    const { key } = await createTenant(gw);
    const fanout = gw.gateway.deps.fanout;
    const baseline = fanout.size;
    const gc = global.gc as () => void;
    expect(gc).toBeTypeOf('function'); // vitest runs workers with --expose-gc
    const openAndKill = async () => {
      const streams = Array.from({ length: 250 }, () => openStream(url('availability'), { authorization: `Bearer ${key}` }));
      await Promise.all(streams.map((s) => s.response));
      await eventually(() => fanout.size >= baseline + 250);
      for (const s of streams) s.close();
      await eventually(() => fanout.size === baseline, 10_000);
    };
    await openAndKill(); // warm-up: lazily created pools and caches
    await new Promise((r) => setTimeout(r, 500));
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let round = 0; round < 4; round++) await openAndKill();
    await new Promise((r) => setTimeout(r, 500)); // heartbeats of leaked streams would fire by now
    gc();
    expect(fanout.size).toBe(baseline);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(8 * 1024 * 1024);
  });
});
