import { eventSubject } from '@allot/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../src/clock';
import type { DeadLetter } from '../src/consumer';
import { redeliver } from '../src/dead-letters';
import { defineService, type RunningService } from '../src/define-service';
import { EventPublisher, makeEvent } from '../src/events';
import { newId } from '../src/ids';
import { eventually, testEnv, testNats } from '../src/testing';

describe('dead letters', () => {
  const tenantId = newId('t');
  const records: DeadLetter[] = [];
  const handled: string[] = [];
  let failures = 2;
  let running: RunningService<any, any, any, any>;
  let conn: Awaited<ReturnType<typeof testNats>>;

  beforeAll(async () => {
    conn = await testNats();
    running = await defineService({
      name: 'availability',
      context: () => ({}),
      consumers: () => [
        {
          source: 'capacity',
          durable: `probe-${tenantId}`,
          filterSubjects: [eventSubject('capacity', tenantId, 'alert.raised')],
          maxAttempts: 1,
          handler: async (event) => {
            if (failures-- > 0) throw new Error(`failure ${failures + 1}`);
            handled.push(event.id);
          },
        },
      ],
      deadLetters: () => ({
        durable: `inbox-${tenantId}`,
        handler: async (record) => {
          if (record.tenantId === tenantId) records.push(record);
        },
      }),
    }).start(testEnv());
  });
  afterAll(async () => {
    await running.stop();
    await conn.close();
  });

  it('dead letters - records carry the tenant; a re-delivery is processed by the consumer that gave up, and keeps the record id', async () => {
    const event = makeEvent(
      'capacity',
      tenantId,
      'alert.raised',
      { type: 'long_queue', sessionId: 'ses_1', sessionName: 'S', date: '2030-01-01', message: 'long', pendingEntries: 11 },
      systemClock,
    );
    await new EventPublisher(conn.js, 'capacity').publish(event);
    const first = await eventually(() => records[0]);
    expect(first).toMatchObject({
      tenantId,
      service: 'availability',
      consumer: `probe-${tenantId}`,
      subject: eventSubject('capacity', tenantId, 'alert.raised'),
      error: 'failure 2',
    });
    expect(first.id).toBe(`${first.stream}-${first.streamSeq}-probe-${tenantId}`);

    // Fails again: recorded again, under the same id, with the original subject.
    await redeliver(conn.js, first, 'a');
    const second = await eventually(() => records[1]);
    expect(second).toMatchObject({ id: first.id, subject: first.subject, stream: 'EVT_CAPACITY', error: 'failure 1' });

    await redeliver(conn.js, second, 'b');
    await eventually(() => handled.length === 1);
    expect(handled).toEqual([event.id]);
    // The same retry published twice is one message.
    await redeliver(conn.js, second, 'b');
    await new Promise((r) => setTimeout(r, 500));
    expect(handled).toEqual([event.id]);
    expect(records).toHaveLength(2);
  });
});
