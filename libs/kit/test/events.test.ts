import type { EventEnvelope } from '@allot/contracts';
import { RetentionPolicy } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter, RunningConsumer } from '../src/consumer';
import { consumeEvents } from '../src/event-consumer';
import { newId } from '../src/ids';
import { deadLetterStreamConfig, ensureStream } from '../src/streams';
import { eventually, testLogger, testNats, uniqueName } from '../src/testing';

function envelope(type: string, data: unknown): EventEnvelope {
  return { id: newId('evt'), type, version: 1, tenantId: 't_test', occurredAt: new Date().toISOString(), source: 'test', data };
}

describe('event consumer', () => {
  let conn: Awaited<ReturnType<typeof testNats>>;
  const stream = uniqueName('EVT');
  const prefix = stream.toLowerCase();
  const running: RunningConsumer[] = [];
  const deps = () => ({ js: conn.js, jsm: conn.jsm, log: testLogger(), service: prefix });

  beforeAll(async () => {
    conn = await testNats();
    await ensureStream(conn.jsm, { name: stream, subjects: [`${prefix}.>`], retention: RetentionPolicy.Limits, duplicate_window: 60e9 });
    await ensureStream(conn.jsm, deadLetterStreamConfig);
  });
  afterAll(async () => {
    await Promise.all(running.map((r) => r.stop()));
    await conn.close();
  });

  it('events - the same event published twice is consumed once', async () => {
    const seen: string[] = [];
    running.push(
      await consumeEvents(deps(), {
        stream,
        durable: 'once',
        filterSubjects: [`${prefix}.once`],
        handler: async (event) => {
          seen.push(event.id);
        },
      }),
    );
    const event = envelope('thing.happened', { n: 1 });
    const marker = envelope('thing.happened', { n: 2 });
    await conn.js.publish(`${prefix}.once`, JSON.stringify(event), { msgID: event.id });
    await conn.js.publish(`${prefix}.once`, JSON.stringify(event), { msgID: event.id });
    await conn.js.publish(`${prefix}.once`, JSON.stringify(marker), { msgID: marker.id });
    await eventually(() => seen.includes(marker.id));
    expect(seen).toEqual([event.id, marker.id]);
  });

  it('events - a handler that keeps failing is retried with backoff, then dead-lettered with its error', async () => {
    const attempts: number[] = [];
    running.push(
      await consumeEvents(deps(), {
        stream,
        durable: 'poison',
        filterSubjects: [`${prefix}.poison`],
        maxAttempts: 3,
        backoffMs: [300, 600],
        handler: async () => {
          attempts.push(Date.now());
          throw new Error('database is on fire');
        },
      }),
    );
    const event = envelope('thing.failed', {});
    await conn.js.publish(`${prefix}.poison`, JSON.stringify(event), { msgID: event.id });

    const dlq = await conn.js.consumers.get(deadLetterStreamConfig.name, {
      filter_subjects: [`dlq.${prefix}.poison`],
    });
    const record = await eventually(async () => (await dlq.next({ expires: 1000 }))?.json<DeadLetter>());
    expect(record).toMatchObject({ consumer: 'poison', deliveries: 3, error: 'database is on fire', subject: `${prefix}.poison` });
    expect(JSON.parse(record.data).id).toBe(event.id);
    expect(attempts).toHaveLength(3);
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(280);
    expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(580);
    // Terminated: no further delivery after the dead letter.
    await new Promise((r) => setTimeout(r, 1000));
    expect(attempts).toHaveLength(3);
  });

  it('events - a malformed envelope is dead-lettered at once', async () => {
    let handled = 0;
    running.push(
      await consumeEvents(deps(), {
        stream,
        durable: 'malformed',
        filterSubjects: [`${prefix}.malformed`],
        handler: async () => {
          handled++;
        },
      }),
    );
    await conn.js.publish(`${prefix}.malformed`, '{"not":"an envelope"}');
    const dlq = await conn.js.consumers.get(deadLetterStreamConfig.name, { filter_subjects: [`dlq.${prefix}.malformed`] });
    const record = await eventually(async () => (await dlq.next({ expires: 1000 }))?.json<DeadLetter>());
    expect(record).toMatchObject({ error: 'malformed event envelope', deliveries: 1 });
    expect(handled).toBe(0);
  });

  it('events - the next events are delivered while one is being handled, not asked for after it', async () => {
    let release: () => void = () => {};
    const busy = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handled: string[] = [];
    running.push(
      await consumeEvents(deps(), {
        stream,
        durable: 'prefetch',
        filterSubjects: [`${prefix}.prefetch`],
        concurrency: 1,
        handler: async (event) => {
          await busy; // the first event holds the only slot
          handled.push(event.id);
        },
      }),
    );
    const events = Array.from({ length: 5 }, (_, n) => envelope('thing.happened', { n }));
    for (const e of events) await conn.js.publish(`${prefix}.prefetch`, JSON.stringify(e), { msgID: e.id });
    try {
      // Delivered to this process (and not yet acknowledged) while the first is still in hand.
      await eventually(async () => (await conn.jsm.consumers.info(stream, 'prefetch')).num_ack_pending === events.length);
    } finally {
      release();
    }
    await eventually(() => handled.length === events.length);
    expect(handled).toEqual(events.map((e) => e.id));
  });

  it('events - handlers start in delivery order, so what each sends first goes out in that order with many in flight', async () => {
    const sent: number[] = [];
    const sub = conn.nc.subscribe(`${prefix}-order-out`, { callback: (_error, msg) => void sent.push(Number(msg.string())) });
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    running.push(
      await consumeEvents(deps(), {
        stream,
        durable: 'order',
        filterSubjects: [`${prefix}.order`],
        concurrency: 64,
        handler: async (event) => {
          conn.nc.publish(`${prefix}-order-out`, String((event.data as { n: number }).n));
          await held; // all in flight at once
        },
      }),
    );
    const events = Array.from({ length: 50 }, (_, n) => envelope('thing.happened', { n }));
    for (const e of events) await conn.js.publish(`${prefix}.order`, JSON.stringify(e), { msgID: e.id });
    try {
      await eventually(() => sent.length === events.length);
    } finally {
      release();
      sub.unsubscribe();
    }
    expect(sent).toEqual(events.map((_, n) => n));
  });
});
