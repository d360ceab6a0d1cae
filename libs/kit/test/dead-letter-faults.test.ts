import type { EventEnvelope } from '@allot/contracts';
import { type LocalServer, startNats } from '@allot/local-servers';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter, RunningConsumer } from '../src/consumer';
import { consumeEvents } from '../src/event-consumer';
import { newId } from '../src/ids';
import { deadLetterStreamConfig, ensureStream } from '../src/streams';
import { eventually, testLogger } from '../src/testing';

// Its own NATS server: the dead-letter stream is missing until the test creates it, which no
// other test file may see.
describe('dead letters - faults', () => {
  let nats: LocalServer;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let running: RunningConsumer | undefined;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureStream(jsm, { name: 'EVT_FAULTS', subjects: ['faults.>'], retention: RetentionPolicy.Limits });
  });
  afterAll(async () => {
    await running?.stop();
    await nc?.close();
    await nats?.stop();
  });

  it('dead letters - an event whose dead letter cannot be written keeps coming back until it is written', async () => {
    let deliveries = 0;
    running = await consumeEvents(
      { js, jsm, log: testLogger(), service: 'faults' },
      {
        stream: 'EVT_FAULTS',
        durable: 'failing',
        filterSubjects: ['faults.>'],
        maxAttempts: 2,
        backoffMs: [100],
        handler: async () => {
          deliveries++;
          throw new Error('always fails');
        },
      },
    );
    const event: EventEnvelope = {
      id: newId('evt'),
      type: 'thing.failed',
      version: 1,
      tenantId: 't_faults',
      occurredAt: new Date().toISOString(),
      source: 'test',
      data: {},
    };
    await js.publish('faults.thing', JSON.stringify(event), { msgID: event.id });

    // Attempts are used up and there is nowhere to write the dead letter: the event is not dropped.
    await eventually(() => deliveries >= 4, 30_000);
    await ensureStream(jsm, deadLetterStreamConfig);
    const letters = await js.consumers.get(deadLetterStreamConfig.name, { filter_subjects: ['dlq.faults.failing'] });
    const record = await eventually(async () => (await letters.next({ expires: 1000 }))?.json<DeadLetter>(), 30_000);
    expect(record).toMatchObject({ consumer: 'failing', error: 'always fails', tenantId: 't_faults' });
    expect(JSON.parse(record.data).id).toBe(event.id);
  }, 90_000);
});
