import { platformRpc } from '@allot/contracts';
import { startNats } from '@allot/local-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { systemClock } from '../src/clock';
import { makeEvent } from '../src/events';
import { createService, type Service } from '../src/service';
import { eventually, testEnv } from '../src/testing';

const echo = platformRpc('echo', z.object({ n: z.number() }), z.object({ n: z.number() }));

describe('NATS restarted under a running service', () => {
  let nats: Awaited<ReturnType<typeof startNats>>;
  let producer: Service;
  let consumer: Service;
  const seen: number[] = [];

  beforeAll(async () => {
    nats = await startNats();
    producer = await createService({ name: 'capacity', env: testEnv({ NATS_URL: nats.url }) });
    producer.rpc.add('echo', echo, async ({ n }) => ({ n }));
    await producer.start();
    consumer = await createService({ name: 'notifications', env: testEnv({ NATS_URL: nats.url }) });
    await consumer.consumeEvents('capacity', {
      durable: 'reconnect-test',
      filterSubjects: ['evt.capacity.>'],
      handler: async (event) => {
        seen.push((event.data as { pendingEntries: number }).pendingEntries);
      },
    });
    await consumer.start();
  });
  afterAll(async () => {
    await consumer.stop();
    await producer.stop();
    await nats.stop();
  });

  const publish = (n: number) => producer.events.publish(makeEvent('capacity', 't_reconnect', 'alert.raised', alert(n), systemClock));

  it('reconnect - RPC, publishing and durable consumers resume after NATS restarts, losing no event', async () => {
    await publish(1);
    await eventually(() => seen.includes(1));
    await nats.restart();

    // Clients reconnect on their own; calls made meanwhile may fail, so retry until one answers.
    const reply = await eventually(async () =>
      producer.client
        .call('capacity', 'echo', echo, { n: 2 }, { tenantId: null, actor: { kind: 'root' }, timeoutMs: 500 })
        .catch(() => undefined),
    );
    expect(reply).toEqual({ n: 2 });
    await eventually(async () =>
      publish(3).then(
        () => true,
        () => false,
      ),
    );
    await eventually(() => seen.includes(3), 15_000);
    expect(seen.filter((n) => n === 1)).toHaveLength(1);
    expect((await fetch(`http://127.0.0.1:${producer.port}/readyz`)).status).toBe(200);
  });
});

function alert(n: number) {
  return {
    type: 'long_queue' as const,
    sessionId: 'ses_1',
    sessionName: 'x',
    date: '2030-01-01',
    message: 'm',
    pendingEntries: n,
  };
}
