import { DeliverPolicy } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { systemClock } from '../src/clock';
import { EventPublisher, makeEvent } from '../src/events';
import { connectMongo } from '../src/mongo';
import { type OutboxEntry, OutboxRelay, outboxPush } from '../src/outbox';
import { OutboxCollection } from '../src/outbox-collection';
import { ensureStream, eventStreamConfig } from '../src/streams';
import { eventually, testLogger, testNats, uniqueName } from '../src/testing';

describe('embedded outbox', () => {
  let conn: Awaited<ReturnType<typeof testNats>>;
  let mongo: Awaited<ReturnType<typeof connectMongo>>;
  const tenantId = uniqueName('t');

  beforeAll(async () => {
    conn = await testNats();
    mongo = await connectMongo(inject('mongoUrl'), uniqueName('outbox').toLowerCase(), { monitorCommands: true });
    await ensureStream(conn.jsm, eventStreamConfig('capacity'));
  });
  afterAll(async () => {
    await conn.close();
    await mongo.client.close();
  });

  async function publishedFor(tenant: string) {
    const consumer = await conn.js.consumers.get('EVT_CAPACITY', {
      filter_subjects: [`evt.capacity.${tenant}.>`],
      deliver_policy: DeliverPolicy.All,
    });
    const ids: string[] = [];
    const batch = await consumer.fetch({ max_messages: 100, expires: 1000 });
    for await (const m of batch) {
      ids.push(m.json<{ id: string }>().id);
      if (m.info.pending === 0) break;
    }
    return ids;
  }

  it('outbox - an event pending at a crash is published after restart, once, and then cleared', async () => {
    const docs = mongo.db.collection('sessions');
    const event = makeEvent('capacity', tenantId, 'session.created', sampleSession(), systemClock);
    // The state change and its event are one atomic write; the process "dies" before flushing.
    await docs.insertOne({ _id: 'ses_1' as never, name: 'Morning', outbox: [] as OutboxEntry[] });
    await docs.updateOne({ _id: 'ses_1' as never }, { $set: { name: 'Morning tour' }, ...outboxPush([event]) });

    // After the restart two relays race to sweep the same document.
    const publisher = new EventPublisher(conn.js, 'capacity');
    const relays = [new OutboxRelay(publisher, testLogger()), new OutboxRelay(publisher, testLogger())];
    await Promise.all(relays.map((relay) => relay.watch(docs).sweep()));
    await Promise.all(relays.map((relay) => relay.settle()));

    expect(await publishedFor(tenantId)).toEqual([event.id]);
    expect((await docs.findOne({ _id: 'ses_1' as never }))?.outbox).toEqual([]);
  });

  it('outbox - flushing keeps events added after the flush began', async () => {
    const docs = mongo.db.collection('sessions');
    const tenant = uniqueName('t');
    const first = makeEvent('capacity', tenant, 'session.created', sampleSession(), systemClock);
    const second = makeEvent('capacity', tenant, 'session.updated', sampleSession(), systemClock);
    await docs.insertOne({ _id: 'ses_2' as never, outbox: [] as OutboxEntry[] });
    await docs.updateOne({ _id: 'ses_2' as never }, outboxPush([first]));
    const relay = new OutboxRelay(new EventPublisher(conn.js, 'capacity'), testLogger());
    const snapshot = (await docs.findOne({ _id: 'ses_2' as never }))?.outbox as OutboxEntry[];
    await docs.updateOne({ _id: 'ses_2' as never }, outboxPush([second])); // written while the relay publishes
    await relay.flush(docs, { _id: 'ses_2', outbox: snapshot });
    await relay.settle();
    const left = (await docs.findOne({ _id: 'ses_2' as never }))?.outbox as OutboxEntry[];
    expect(left.map((e) => e.envelope.id)).toEqual([second.id]);
  });

  it('outbox - a failed publish does not fail the writer; the event stays for the sweep', async () => {
    const docs = mongo.db.collection('sessions');
    const tenant = uniqueName('t');
    const event = makeEvent('capacity', tenant, 'session.created', sampleSession(), systemClock);
    await docs.insertOne({ _id: 'ses_3' as never, outbox: [] as OutboxEntry[] });
    await docs.updateOne({ _id: 'ses_3' as never }, outboxPush([event]));
    const stored = await docs.findOne({ _id: 'ses_3' as never });

    const broken = { publish: async () => Promise.reject(new Error('NATS is down')) } as unknown as EventPublisher;
    await expect(new OutboxRelay(broken, testLogger()).flush(docs, stored, [event.id])).resolves.toBeUndefined();
    const kept = (await docs.findOne({ _id: 'ses_3' as never }))?.outbox as OutboxEntry[] | undefined;
    expect(kept?.map((e) => e.envelope.id)).toEqual([event.id]);

    const relay = new OutboxRelay(new EventPublisher(conn.js, 'capacity'), testLogger()).watch(docs);
    await relay.sweep();
    await relay.settle();
    expect(await publishedFor(tenant)).toEqual([event.id]);
    expect((await docs.findOne({ _id: 'ses_3' as never }))?.outbox).toEqual([]);
  });

  it('outbox - a write is published by the time it returns, with no sweep running', async () => {
    const tenant = uniqueName('t');
    // Never started: no sweep, no timer; only the write's own flush can publish.
    const relay = new OutboxRelay(new EventPublisher(conn.js, 'capacity'), testLogger());
    const raw = mongo.db.collection<{ _id: string; n: number; outbox?: OutboxEntry[] }>(uniqueName('prompt').toLowerCase());
    relay.watch(raw);
    const docs = new OutboxCollection(raw, relay);
    const created = makeEvent('capacity', tenant, 'session.created', sampleSession(), systemClock);
    const updated = makeEvent('capacity', tenant, 'session.updated', sampleSession(), systemClock);
    await docs.insert({ _id: 'doc-1', n: 1 }, [created]);
    expect(await publishedFor(tenant)).toEqual([created.id]);
    await docs.update({ _id: 'doc-1' }, { $set: { n: 2 } }, [updated]);
    expect(await publishedFor(tenant)).toEqual([created.id, updated.id]);
    await relay.settle();
    expect((await raw.findOne({ _id: 'doc-1' }))?.outbox).toEqual([]);
  });

  it('outbox - concurrent batched inserts share one insert; each new document is announced once, a stored one not at all', async () => {
    const tenant = uniqueName('t');
    const relay = new OutboxRelay(new EventPublisher(conn.js, 'capacity'), testLogger());
    const raw = mongo.db.collection<{ _id: string; n: number; outbox?: OutboxEntry[] }>(uniqueName('batched').toLowerCase());
    relay.watch(raw);
    const docs = new OutboxCollection(raw, relay);
    await docs.insert({ _id: 'doc-3', n: 3 }); // stored before: inserting it again is refused
    let inserts = 0;
    mongo.client.on('commandStarted', (e) => {
      if (e.commandName === 'insert' && e.command.insert === raw.collectionName) inserts++;
    });
    const events = Array.from({ length: 20 }, () => makeEvent('capacity', tenant, 'session.created', sampleSession(), systemClock));
    const created = await Promise.all(events.map((event, n) => docs.insertBatched({ _id: `doc-${n}`, n }, [event])));
    await relay.settle();

    expect(created).toEqual(events.map((_, n) => n !== 3));
    expect(inserts).toBeLessThan(5); // the first alone (nothing was being written), the rest together
    expect((await publishedFor(tenant)).sort()).toEqual(
      events
        .filter((_, n) => n !== 3)
        .map((e) => e.id)
        .sort(),
    );
    expect(await raw.countDocuments({ 'outbox.0': { $exists: true } })).toBe(0);
  });

  it('outbox - a started relay scans only for events it owes (a failed publish), not on every tick nor for writes that stored nothing', async () => {
    const tenant = uniqueName('t');
    const real = new EventPublisher(conn.js, 'capacity');
    let down = true;
    const flaky = {
      publish: (...args: Parameters<EventPublisher['publish']>) =>
        down ? Promise.reject(new Error('NATS is down')) : real.publish(...args),
    };
    const relay = new OutboxRelay(flaky as EventPublisher, testLogger());
    const raw = mongo.db.collection<{ _id: string; n: number; outbox?: OutboxEntry[] }>(uniqueName('owed').toLowerCase());
    relay.watch(raw);
    const docs = new OutboxCollection(raw, relay);
    let scans = 0;
    const countScans = (e: { commandName: string; command: Record<string, unknown> }) => {
      if (e.commandName === 'find' && e.command.find === raw.collectionName) scans++;
    };
    mongo.client.on('commandStarted', countScans);
    try {
      relay.start(50);
      await eventually(() => scans === 1); // the sweep on start
      // A guarded update that matches nothing stores no event: nothing is owed.
      const unmatched = makeEvent('capacity', tenant, 'session.updated', sampleSession(), systemClock);
      expect(await docs.update({ _id: 'missing' }, { $set: { n: 0 } }, [unmatched])).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(scans).toBe(1); // ten ticks with nothing owed: no scan

      const event = makeEvent('capacity', tenant, 'session.created', sampleSession(), systemClock);
      await docs.insert({ _id: 'doc-1', n: 1 }, [event]); // its publish fails: the event is owed
      down = false;
      // Found by a sweep the owed event brings on, long before the full sweep is due.
      await eventually(async () => (await publishedFor(tenant)).length === 1);
      expect(await publishedFor(tenant)).toEqual([event.id]);
      expect(scans).toBeGreaterThan(1);
    } finally {
      mongo.client.off('commandStarted', countScans);
      await relay.stop();
    }
  });

  it('outbox - after a scan that took long, the sweep for dead peers waits twenty times its duration', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      /** A watched collection whose scan takes `ms` (by the clock) and finds nothing. */
      const scanTaking = (ms: number) => ({
        namespace: uniqueName('scan'),
        find: () => ({
          [Symbol.asyncIterator]: () => ({
            next: async () => {
              vi.setSystemTime(Date.now() + ms);
              return { done: true, value: undefined };
            },
          }),
        }),
      });
      const relayScanning = async (ms: number) => {
        const relay = new OutboxRelay({} as EventPublisher, testLogger());
        relay.watch(scanTaking(ms) as never);
        const startedAt = Date.now();
        await relay.sweep();
        // Whether the periodic check would sweep `after` ms past the start of that sweep.
        return (after: number) => {
          vi.setSystemTime(startedAt + after);
          return (relay as unknown as { sweepDue(intervalMs: number): boolean }).sweepDue(2000);
        };
      };
      const quick = await relayScanning(100);
      expect([quick(29_000), quick(30_000)]).toEqual([false, true]);
      const slow = await relayScanning(2000);
      expect([slow(30_000), slow(39_000), slow(40_000)]).toEqual([false, false, true]);
    } finally {
      vi.useRealTimers();
    }
  });
});

function sampleSession() {
  const now = new Date().toISOString();
  return {
    session: {
      id: 'ses_1',
      name: 'Morning tour',
      description: '',
      maxCapacity: 10,
      isActive: true,
      queuePromotion: 'confirm' as const,
      offerMinutes: 30,
      createdAt: now,
      updatedAt: now,
    },
  };
}
