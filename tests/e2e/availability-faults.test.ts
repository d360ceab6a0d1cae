import type { ChildProcess } from 'node:child_process';
import { startAvailability } from '@allot/availability';
import { availabilityRpc, type EventEnvelope, eventStream, eventSubject } from '@allot/contracts';
import { newId, RpcClient } from '@allot/kit';
import { startNats } from '@allot/local-servers';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, openStream, type Stack, startAvailabilityProcess, startStack, storedEvents, today } from './stack';

type Call = ReturnType<Stack['as']>;

/** The capacity service's own figures of a session/date: what the read model must show. */
async function capacityFigures(admin: Call, sessionId: string, date: string) {
  const check = await admin('GET', `/v1/capacity/check?sessionId=${sessionId}&date=${date}&slots=1`);
  return check.body.availableSlots as number;
}

/** Waits until the read model shows what capacity holds for each session/date. */
async function settled(admin: Call, pairs: [string, string][]) {
  for (const [sessionId, date] of pairs) {
    const available = await capacityFigures(admin, sessionId, date);
    await eventually(async () => {
      const res = await admin('GET', `/v1/availability?date=${date}&sessionId=${sessionId}`);
      return res.body.availableSlots === available;
    }, 20_000);
  }
}

/** A fixed shuffle (the same on every run, so a failure repeats). */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('availability read model under duplicates, reordering and replicas', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ availability: true });
  });
  afterAll(() => stack.stop());

  it('projection - every capacity event delivered twice and out of order gives the same read model as in order once', async () => {
    const { key, tenantId } = await stack.newTenant();
    const admin = stack.as(key);
    const a = (await admin('POST', '/v1/sessions', { name: 'A', maxCapacity: 10 })).body;
    const b = (await admin('POST', '/v1/sessions', { name: 'B', maxCapacity: 6 })).body;
    const c = (await admin('POST', '/v1/sessions', { name: 'C', maxCapacity: 4 })).body;
    const [d1, d2] = [today(1), today(2)];
    const booked: string[] = [];
    for (const [session, date, adults, hold] of [
      [a, d1, 2, false],
      [a, d1, 3, true],
      [a, d2, 1, false],
      [b, d1, 4, false],
      [b, d2, 2, true],
      [c, d1, 1, false],
    ] as const) {
      const res = await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults, hold });
      expect(res.status).toBe(201);
      booked.push(res.body.id);
    }
    await admin('POST', `/v1/bookings/${booked[1]}/confirm`);
    await admin('POST', `/v1/bookings/${booked[0]}/cancel`);
    await admin('POST', `/v1/bookings/${booked[4]}/cancel`);
    expect((await admin('PUT', `/v1/sessions/${a.id}/capacity`, { maxCapacity: 15 })).status).toBe(200);
    expect((await admin('PUT', `/v1/sessions/${b.id}/capacity`, { maxCapacity: 9, date: d2 })).status).toBe(200);
    await admin('PATCH', `/v1/sessions/${a.id}`, { name: 'A renamed' });
    await admin('PATCH', `/v1/sessions/${c.id}`, { isActive: false });
    await settled(admin, [
      [a.id, d1],
      [a.id, d2],
      [b.id, d1],
      [b.id, d2],
    ]);

    const asTenant = { tenantId, actor: { kind: 'apiKey' as const, keyId: 'test' } };
    const answers = async (client: RpcClient) => {
      const call = <K extends keyof typeof availabilityRpc>(op: K, input: unknown) =>
        client.call('availability', op, availabilityRpc[op], input as never, asTenant);
      return {
        all: await call('availability.range', { from: today(0), to: today(3) }),
        a: await call('availability.range', { from: today(0), to: today(3), sessionId: a.id }),
        c: await call('availability.range', { from: today(0), to: today(3), sessionId: c.id }),
        peakA: await call('availability.peakHours', { sessionId: a.id, days: 30 }),
        peakB: await call('availability.peakHours', { sessionId: b.id, days: 30 }),
      };
    };
    const nc1 = await connect({ servers: stack.natsUrl });
    const inOrder = await answers(new RpcClient(nc1));
    await nc1.close();
    // The in-order model is right to begin with.
    expect(inOrder.a.dates[d1]).toMatchObject({ sessionName: 'A renamed', maxSlots: 15, bookedSlots: 3, availableSlots: 12 });
    expect(inOrder.all.dates[d2]).toMatchObject({ items: [{ sessionId: a.id }, { sessionId: b.id, maxSlots: 9, bookedSlots: 0 }] });
    expect(inOrder.peakA.reduce((n, h) => n + h.bookingCount, 0)).toBe(2); // the confirmed ones: 3 adults, 1 adult

    // The same events, into a fresh NATS and a fresh availability database: shuffled, each twice.
    const events = await storedEvents(stack.natsUrl, eventStream('capacity'), eventSubject('capacity', tenantId, '>'));
    expect(events.length).toBeGreaterThan(15);
    const nats = await startNats();
    const replay = await startAvailability({
      NATS_URL: nats.url,
      MONGO_URL: inject('mongoUrl'),
      MONGO_DB: newId('avl').toLowerCase(),
      PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    });
    const nc2 = await connect({ servers: nats.url });
    try {
      const js = jetstream(nc2);
      const publish = (e: EventEnvelope, copy: string) =>
        js.publish(eventSubject('capacity', tenantId, e.type), JSON.stringify(e), { msgID: `${e.id}${copy}` });
      for (const e of shuffled(events, 7)) await publish(e, '');
      for (const e of shuffled(events, 11)) await publish(e, ':again');
      // Compared once every copy has been applied (intermediate states may match by chance).
      const jsm = await jetstreamManager(nc2);
      await eventually(async () => {
        const info = await jsm.consumers.info(eventStream('capacity'), 'availability-read-model');
        return info.num_pending === 0 && info.num_ack_pending === 0 && info.ack_floor.stream_seq === events.length * 2;
      }, 15_000);
      const client = new RpcClient(nc2);
      expect(await answers(client)).toEqual(inOrder);
    } finally {
      await nc2.close();
      await replay.stop();
      await nats.stop();
    }
  }, 60_000);

  it('replicas - two replicas answer the same after a burst of bookings', async () => {
    await stack.startAvailability();
    const { key, tenantId } = await stack.newTenant();
    const admin = stack.as(key);
    const session = (await admin('POST', '/v1/sessions', { name: 'Burst', maxCapacity: 60 })).body;
    const dates = [today(1), today(2)];
    await Promise.all(
      Array.from({ length: 80 }, async (_, n) => {
        const res = await admin('POST', '/v1/bookings', { sessionId: session.id, date: dates[n % 2], adults: 1 + (n % 2) });
        if (res.status === 201 && n % 5 === 0) await admin('POST', `/v1/bookings/${res.body.id}/cancel`);
      }),
    );
    await settled(
      admin,
      dates.map((d) => [session.id, d]),
    );
    // Asked directly (not through the gateway, which keeps answers), requests reach either
    // replica of the queue group at random: every answer must be the same, and right.
    const nc = await connect({ servers: stack.natsUrl });
    try {
      const client = new RpcClient(nc);
      const asTenant = { tenantId, actor: { kind: 'apiKey' as const, keyId: 'test' } };
      const ask = (date: string) =>
        client.call('availability', 'availability.get', availabilityRpc['availability.get'], { date, sessionId: session.id }, asTenant);
      for (const date of dates) {
        const available = await capacityFigures(admin, session.id, date);
        // `settled` saw the right figures on one replica; the other may still hold an earlier
        // version with the same figures (a booking and a cancel), differing only in `lastUpdated`.
        const first = await eventually(async () => {
          const answers = await Promise.all(Array.from({ length: 10 }, () => ask(date)));
          return answers.every((a) => JSON.stringify(a) === JSON.stringify(answers[0])) && answers[0];
        }, 20_000);
        expect(first).toMatchObject({ availableSlots: available, bookedSlots: 60 - available });
        for (let i = 0; i < 30; i++) expect(await ask(date)).toEqual(first);
      }
    } finally {
      await nc.close();
    }
  });
});

describe('availability catching up', () => {
  let stack: Stack;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    stack = await startStack({ gateway: { RPC_TIMEOUT_MS: '2000' } });
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await stack.stop();
  });

  it('faults - killed with SIGKILL during bookings and restarted, it misses nothing that happened while it was down', async () => {
    child = await startAvailabilityProcess(stack);
    const { key, tenantId } = await stack.newTenant();
    const admin = stack.as(key);
    const session = (await admin('POST', '/v1/sessions', { name: 'Steady', maxCapacity: 1000 })).body;
    const date = today(1);
    const until = Date.now() + 3000;
    let madeWhileDown = 0;
    let down = false;
    const worker = async () => {
      while (Date.now() < until) {
        const res = await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1 });
        if (res.status !== 201) continue;
        if (down) madeWhileDown++;
        if (Math.random() < 0.3) await admin('POST', `/v1/bookings/${res.body.id}/cancel`);
      }
    };
    const load = Promise.all([worker(), worker(), worker()]);
    await new Promise((r) => setTimeout(r, 800));
    child.kill('SIGKILL');
    down = true;
    await new Promise((r) => setTimeout(r, 1000)); // bookings go on while it is down
    down = false;
    child = await startAvailabilityProcess(stack);
    await load;
    expect(madeWhileDown).toBeGreaterThan(5);

    // Nothing made while it was down is missing: the figures are capacity's, every confirmed
    // booking counts in the peak hours, and the newest version was announced to clients. (A
    // change superseded before it was written — a retry behind a newer one — is announced
    // through the newer figures only.)
    await settled(admin, [[session.id, date]]);
    // Capacity's own count of confirmed bookings (an answer lost to a timeout may still have booked).
    let confirmed = 0;
    for (let cursor = ''; ; ) {
      const page = (await admin('GET', `/v1/bookings?sessionId=${session.id}&status=confirmed&limit=200${cursor}`)).body;
      confirmed += page.items.length;
      if (!page.nextCursor) break;
      cursor = `&cursor=${page.nextCursor}`;
    }
    await eventually(async () => {
      const hours = (await admin('GET', `/v1/availability/peak-hours?sessionId=${session.id}`)).body as { bookingCount: number }[];
      return hours.reduce((n, h) => n + h.bookingCount, 0) === confirmed;
    }, 15_000).catch(() => undefined);
    const hours = (await admin('GET', `/v1/availability/peak-hours?sessionId=${session.id}`)).body as { bookingCount: number }[];
    expect(hours.reduce((n, h) => n + h.bookingCount, 0)).toBe(confirmed);
    const versionOf = (e: EventEnvelope) => (e.data as { slots?: { version: number }; version?: number }).slots?.version ?? 0;
    const newest = Math.max(
      ...(await storedEvents(stack.natsUrl, eventStream('capacity'), eventSubject('capacity', tenantId, 'booking.>'))).map(versionOf),
    );
    const announced = await eventually(async () => {
      const updates = await storedEvents(
        stack.natsUrl,
        eventStream('availability'),
        eventSubject('availability', tenantId, 'availability.updated'),
      );
      const last = updates.find((e) => (e.data as { version: number }).version === newest);
      return last && (last.data as { bookedSlots: number });
    }, 15_000);
    expect(announced.bookedSlots).toBe(confirmed);
  }, 60_000);

  it('faults - events the stream no longer holds are rebuilt from the capacity service, and refresh re-broadcasts', async () => {
    child?.kill('SIGKILL');
    child = undefined;
    const first = await stack.startAvailability();
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    const session = (await admin('POST', '/v1/sessions', { name: 'Gap', maxCapacity: 30 })).body;
    const date = today(1);
    await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 2 });
    await settled(admin, [[session.id, date]]);
    await first.stop();

    // While it is down: more bookings and a rename, then the stream loses them (retention ran out).
    for (const adults of [3, 4]) expect((await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults })).status).toBe(201);
    await admin('PATCH', `/v1/sessions/${session.id}`, { name: 'Gap renamed' });
    const nc = await connect({ servers: stack.natsUrl });
    await (await jetstreamManager(nc)).streams.purge(eventStream('capacity'));
    await nc.close();

    const second = await stack.startAvailability();
    await eventually(async () => (await second.service.readiness()).caughtUp, 20_000);
    const res = await admin('GET', `/v1/availability?date=${date}&sessionId=${session.id}`);
    expect(res.body).toMatchObject({ sessionName: 'Gap renamed', bookedSlots: 9, availableSlots: 21 });
    const peaks = (await admin('GET', `/v1/availability/peak-hours?sessionId=${session.id}`)).body;
    expect(peaks.reduce((n: number, h: { bookingCount: number }) => n + h.bookingCount, 0)).toBe(3);

    // The read model loses the date (say, restored from an old backup) and a restarted replica shows the default.
    const mongo = await new MongoClient(inject('mongoUrl')).connect();
    await mongo
      .db(stack.availabilityDb)
      .collection('slots')
      .deleteOne({ _id: `${session.id}:${date}` as never });
    await mongo.close();
    await second.stop();
    await stack.startAvailability();
    await eventually(async () => (await admin('GET', `/v1/availability?date=${date}&sessionId=${session.id}`)).body.bookedSlots === 0);

    const byDate = openStream(`${stack.base}/v1/stream?channels=availability.${date}`, { authorization: `Bearer ${key}` });
    const everything = openStream(`${stack.base}/v1/stream?channels=availability`, { authorization: `Bearer ${key}` });
    expect((await byDate.response).status).toBe(200);
    expect((await everything.response).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    const refreshed = await admin('POST', '/v1/availability/refresh', { date });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.items).toMatchObject([{ sessionId: session.id, bookedSlots: 9, availableSlots: 21 }]);
    expect((await admin('GET', `/v1/availability?date=${date}&sessionId=${session.id}`)).body.bookedSlots).toBe(9);
    for (const stream of [byDate, everything]) {
      await eventually(() => stream.events.length > 0);
      expect(JSON.parse(stream.events[0]?.data as string)).toMatchObject({
        sessionId: session.id,
        date,
        bookedSlots: 9,
        availableSlots: 21,
      });
      stream.close();
    }
  }, 60_000);
});
