import { webhooksRpc } from '@allot/contracts';
import { EventPublisher, makeEvent, newId, RpcClient } from '@allot/kit';
import { eventually, testEnv, testNats } from '@allot/kit/testing';
import { MongoClient } from 'mongodb';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhooks } from '../src';
import { receiver } from './receiver';

const env = {
  WEBHOOK_SECRET_KEY: 'test-key-of-at-least-thirty-two-characters',
  WEBHOOK_ALLOW_PRIVATE: 'true',
  WEBHOOK_RETRY_SCHEDULE: '0.3,0.3',
  WEBHOOK_DISABLE_AFTER_SECONDS: '2',
  WEBHOOK_MAX_ENDPOINTS: '3',
  WEBHOOK_POLL_MS: '200',
};

describe('webhooks delivery', () => {
  let running: Awaited<ReturnType<typeof startWebhooks>>;
  let conn: Awaited<ReturnType<typeof testNats>>;
  let hooks: Awaited<ReturnType<typeof receiver>>;

  beforeAll(async () => {
    hooks = await receiver((path, n) => {
      if (path.startsWith('/gone')) return { status: 410 };
      if (path.startsWith('/flaky')) return { status: n <= 2 ? 500 : 204 };
      if (path.startsWith('/dead')) return { status: 500 };
      if (path.startsWith('/slow')) return { status: 200, delayMs: 1200 };
      return { status: 200 };
    });
    running = await startWebhooks(testEnv(env));
    conn = await testNats();
  });
  afterAll(async () => {
    await running.stop();
    await conn.close();
    await hooks.close();
  });

  const client = (tenantId: string) => {
    const rpc = new RpcClient(conn.nc);
    return <K extends keyof typeof webhooksRpc>(operation: K, input: unknown) =>
      rpc.call('webhooks', operation, webhooksRpc[operation], input as never, { tenantId, actor: { kind: 'apiKey', keyId: 'k' } as never });
  };
  /** The webhooks service's own events of a tenant, as stored on its stream. */
  const messagesOf = async (tenantId: string) => {
    const consumer = await conn.js.consumers.get('EVT_WEBHOOKS', { filter_subjects: [`evt.webhooks.${tenantId}.>`] });
    const out: { type: string; data: unknown }[] = [];
    for (let left = (await consumer.info()).num_pending; left > 0; ) {
      for await (const m of await consumer.fetch({ max_messages: left, expires: 2000 })) {
        out.push(m.json());
        left--;
      }
    }
    return out;
  };
  const publish = (tenantId: string) =>
    new EventPublisher(conn.js, 'inventory').publish(
      makeEvent('inventory', tenantId, 'stock.low_detected', { sku: 'A-1', quantity: 1, reorderLevel: 5 }, { now: () => new Date() }),
    );

  it('signs each delivery as Standard Webhooks says; a failing endpoint is retried on the schedule, then exhausted', async () => {
    const tenantId = newId('t');
    const call = client(tenantId);
    const ok = await call('endpoint.create', { url: `${hooks.url}/ok-${tenantId}` });
    const flaky = await call('endpoint.create', { url: `${hooks.url}/flaky-${tenantId}`, eventTypes: ['stock.low_detected'] });
    const dead = await call('endpoint.create', { url: `${hooks.url}/dead-${tenantId}` });
    expect(ok.secret).toMatch(/^whsec_/);
    await publish(tenantId);

    const [hit] = await eventually(() => hooks.hits(`/ok-${tenantId}`).length === 1 && hooks.hits(`/ok-${tenantId}`));
    const verified = new Webhook(ok.secret).verify(hit!.body, hit!.headers) as { type: string; tenantId: string; id: string };
    expect(verified).toMatchObject({ type: 'stock.low_detected', tenantId });
    expect(hit!.headers['webhook-id']).toBe(verified.id);
    // Signed with the other endpoint's secret, it does not verify.
    expect(() => new Webhook(flaky.secret).verify(hit!.body, hit!.headers)).toThrow();

    // Two failures, then delivered: three attempts with the same webhook-id.
    const flakyHits = await eventually(() => hooks.hits(`/flaky-${tenantId}`).length === 3 && hooks.hits(`/flaky-${tenantId}`), 20_000);
    expect(new Set(flakyHits.map((h) => h.headers['webhook-id']))).toEqual(new Set([verified.id]));
    const flakyDeliveries = await eventually(async () => {
      const page = await call('delivery.list', { id: flaky.id });
      return page.items[0]?.status === 'delivered' && page;
    });
    expect(flakyDeliveries.items[0]!.attempts.map((a) => a.statusCode)).toEqual([500, 500, 204]);

    // Always failing: 1 + 2 retries, then exhausted.
    const exhausted = await eventually(async () => {
      const page = await call('delivery.list', { id: dead.id, status: 'exhausted' });
      return page.items.length === 1 && page.items[0];
    }, 20_000);
    expect(exhausted.attempts).toHaveLength(3);
    expect(exhausted.nextAttemptAt).toBeNull();
    expect(hooks.hits(`/dead-${tenantId}`)).toHaveLength(3);
  });

  it('an endpoint whose every attempt failed for WEBHOOK_DISABLE_AFTER_SECONDS is disabled, and that is announced once', async () => {
    const tenantId = newId('t');
    const call = client(tenantId);
    const dead = await call('endpoint.create', { url: `${hooks.url}/dead-${tenantId}` });
    // A message every half second: each fails; once the first failure is 2 s old, the endpoint is off.
    const disabled = await eventually(async () => {
      await publish(tenantId);
      await new Promise((r) => setTimeout(r, 500));
      const endpoint = await call('endpoint.get', { id: dead.id });
      return !endpoint.enabled && endpoint;
    }, 20_000);
    expect(disabled.disabledReason).toBe('failing');
    const failed = hooks.hits(`/dead-${tenantId}`);
    expect(failed.at(-1)!.at - failed[0]!.at).toBeGreaterThanOrEqual(2000);
    const events = await messagesOf(tenantId);
    expect(events.map((e) => e.type)).toEqual(['endpoint.disabled']);
  });

  it('a tenant has at most WEBHOOK_MAX_ENDPOINTS endpoints: one more is quota_exceeded and nothing is stored', async () => {
    const tenantId = newId('t');
    const call = client(tenantId);
    for (let i = 0; i < 3; i++) await call('endpoint.create', { url: `${hooks.url}/ok-${tenantId}-${i}` });
    await expect(call('endpoint.create', { url: `${hooks.url}/ok-${tenantId}-3` })).rejects.toMatchObject({
      code: 'quota_exceeded',
      details: { limit: 'maxWebhookEndpoints', maxWebhookEndpoints: 3 },
    });
    expect((await call('endpoint.list', {})).items).toHaveLength(3);
  });

  it('a first attempt answered after the fan-out stopped waiting is stored leased, then settled by the attempt; the slow endpoint is then stored for first', async () => {
    const tenantId = newId('t');
    const call = client(tenantId);
    const slow = await call('endpoint.create', { url: `${hooks.url}/slow-${tenantId}` });
    await publish(tenantId);
    const delivered = await eventually(async () => {
      const page = await call('delivery.list', { id: slow.id });
      return page.items[0]?.status === 'delivered' && page.items[0];
    });
    expect(delivered.attempts).toHaveLength(1);
    expect(delivered.attempts[0]).toMatchObject({ statusCode: 200 });
    expect(delivered.attempts[0]!.durationMs).toBeGreaterThanOrEqual(1000);
    // The next event to it is not tried first: stored, then attempted from its queue; delivered once each.
    await publish(tenantId);
    const both = await eventually(async () => {
      const page = await call('delivery.list', { id: slow.id, status: 'delivered' });
      return page.items.length === 2 && page.items;
    });
    expect(both.map((d) => d.attempts.length)).toEqual([1, 1]);
    expect(hooks.hits(`/slow-${tenantId}`)).toHaveLength(2);
  });

  it('410 Gone disables the endpoint and announces it', async () => {
    const tenantId = newId('t');
    const call = client(tenantId);
    const gone = await call('endpoint.create', { url: `${hooks.url}/gone-${tenantId}` });
    await publish(tenantId);
    const disabled = await eventually(async () => {
      const endpoint = await call('endpoint.get', { id: gone.id });
      return !endpoint.enabled && endpoint;
    });
    expect(disabled.disabledReason).toBe('gone');
    expect(hooks.hits(`/gone-${tenantId}`)).toHaveLength(1);
    // Announced once, on the service's own stream (the notifications service tells the admins).
    const events = await eventually(async () => {
      const stored = await messagesOf(tenantId);
      return stored.length === 1 && stored;
    });
    expect(events[0]).toMatchObject({ type: 'endpoint.disabled', data: { endpoint: { id: gone.id, disabledReason: 'gone' } } });
  });
});

describe('webhooks service stopping', () => {
  it('hands back what it held: deliveries in flight to a hanging endpoint and those waiting behind them are due again at once', async () => {
    const hooks = await receiver(() => 'hang');
    const testing = testEnv({ ...env, WEBHOOK_TIMEOUT_MS: '20000', WEBHOOK_ENDPOINT_CONCURRENCY: '1' });
    const running = await startWebhooks(testing);
    const conn = await testNats();
    const tenantId = newId('t');
    const rpc = new RpcClient(conn.nc);
    const context = { tenantId, actor: { kind: 'apiKey', keyId: 'k' } as never };
    const endpoint = await rpc.call('webhooks', 'endpoint.create', webhooksRpc['endpoint.create'], { url: `${hooks.url}/hang` }, context);
    const inventory = new EventPublisher(conn.js, 'inventory');
    for (let i = 0; i < 5; i++)
      await inventory.publish(
        makeEvent('inventory', tenantId, 'stock.low_detected', { sku: `S-${i}`, quantity: 1, reorderLevel: 5 }, { now: () => new Date() }),
      );
    await eventually(
      async () =>
        (await rpc.call('webhooks', 'delivery.list', webhooksRpc['delivery.list'], { id: endpoint.id }, context)).items.length === 5,
    );
    await eventually(() => hooks.hits('/hang').length === 1); // one in flight, four held behind it
    await running.stop();

    const mongo = await new MongoClient(testing.MONGO_URL as string).connect();
    try {
      const held = await mongo
        .db(testing.MONGO_DB)
        .collection('deliveries')
        .countDocuments({ endpointId: endpoint.id, leaseUntil: { $gt: new Date() } });
      expect(held).toBe(0);
    } finally {
      await mongo.close();
      await conn.close();
      await hooks.close();
    }
  });
});

describe('webhooks queue leases', () => {
  it('held deliveries whose leases would not outlast an attempt have them renewed and go on, never claimed again', async () => {
    // Each answer takes 1 s, one at a time: of nine held at once, the last ones wait longer than their
    // lease leaves room for an attempt (8 s lease, 1.5 s timeout). Their leases are renewed when
    // their turn comes, so they go on in turn, with the poll (every 2 minutes) not running
    // meanwhile; none is left to run out and claimed again from the database.
    const hooks = await receiver(() => ({ status: 200, delayMs: 1000 }));
    const testing = testEnv({ ...env, WEBHOOK_TIMEOUT_MS: '1500', WEBHOOK_ENDPOINT_CONCURRENCY: '1', WEBHOOK_POLL_MS: '120000' });
    const running = await startWebhooks(testing);
    const conn = await testNats();
    try {
      const tenantId = newId('t');
      const rpc = new RpcClient(conn.nc);
      const context = { tenantId, actor: { kind: 'apiKey', keyId: 'k' } as never };
      const endpoint = await rpc.call('webhooks', 'endpoint.create', webhooksRpc['endpoint.create'], { url: `${hooks.url}/slow` }, context);
      const inventory = new EventPublisher(conn.js, 'inventory');
      const publishOne = (i: number) =>
        inventory.publish(
          makeEvent(
            'inventory',
            tenantId,
            'stock.low_detected',
            { sku: `S-${i}`, quantity: 1, reorderLevel: 5 },
            { now: () => new Date() },
          ),
        );
      await publishOne(0);
      await eventually(() => hooks.hits('/slow').length === 1); // slow: the next ones are stored and held
      for (let i = 1; i < 10; i++) await publishOne(i);
      const delivered = await eventually(async () => {
        const page = await rpc.call(
          'webhooks',
          'delivery.list',
          webhooksRpc['delivery.list'],
          { id: endpoint.id, status: 'delivered' },
          context,
        );
        return page.items.length === 10 && page.items;
      }, 25_000);
      expect(delivered.map((d) => d.attempts.length)).toEqual(Array(10).fill(1));
      expect(hooks.hits('/slow')).toHaveLength(10);
      // Held since they were stored (`<dispatcher>-held`); a claim from the database would be `<dispatcher>-<n>`.
      const mongo = await new MongoClient(testing.MONGO_URL as string).connect();
      try {
        const claims = await mongo.db(testing.MONGO_DB).collection('deliveries').distinct('claim', { endpointId: endpoint.id });
        expect(claims.length).toBeGreaterThan(0);
        for (const claim of claims) expect(claim).toMatch(/-held$/);
      } finally {
        await mongo.close();
      }
    } finally {
      await running.stop();
      await conn.close();
      await hooks.close();
    }
  }, 40_000);
});
