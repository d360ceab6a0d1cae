/**
 * The NATS users exactly as deployed (deploy/k8s/base/nats/users.conf, the same rights as
 * compose's) on a real server: every service connects as its own user and the platform works
 * through the gateway — bookings, availability (answers, live updates), orders with the supplier,
 * notifications, the dead-letter inbox and its retry — without one permission violation; and a
 * user cannot reach what is not its own.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAvailability } from '@allot/availability';
import { startCapacity } from '@allot/capacity';
import { inboxPrefix, natsPasswordVariable, type ServiceName, services } from '@allot/contracts';
import { startGateway } from '@allot/gateway';
import { startInventory } from '@allot/inventory';
import { newId } from '@allot/kit';
import { call, eventually, openStream } from '@allot/kit/testing';
import { type LocalServer, startNats } from '@allot/local-servers';
import { startNotifications } from '@allot/notifications';
import { startSupplierSim } from '@allot/supplier-sim';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const deployedUsers = readFileSync(path.join(root, 'deploy/k8s/base/nats/users.conf'), 'utf8');

describe('deploy - NATS users as deployed', () => {
  const passwords = Object.fromEntries(services.map((s) => [s, `p${randomBytes(16).toString('hex')}`])) as Record<ServiceName, string>;
  const as = (user: ServiceName) => ({ NATS_URL: nats.url, NATS_USER: user, NATS_PASSWORD: passwords[user] });
  const stops: (() => Promise<void>)[] = [];
  let nats: LocalServer;
  let base: string;
  let rootKey: string;

  /** What the server logged about refused publishes and subscriptions. */
  const violations = () =>
    readFileSync(path.join(nats.dataDir, 'nats-server.log'), 'utf8')
      .split('\n')
      .filter((line) => /violation/i.test(line));

  /** A connection as one service's user, with its own inbox prefix (as the kit connects). */
  const connectAs = (user: ServiceName, inbox = inboxPrefix(user)): Promise<NatsConnection> =>
    connect({ servers: nats.url, user, pass: passwords[user], inboxPrefix: inbox });

  beforeAll(async () => {
    // The server reads each user's password from its environment, as in Kubernetes and compose.
    for (const s of services) process.env[natsPasswordVariable(s)] = passwords[s];
    nats = await startNats({ natsConfigText: deployedUsers });
    const common = { MONGO_URL: inject('mongoUrl'), PORT: '0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' };
    const db = (prefix: string) => ({ MONGO_DB: newId(prefix).toLowerCase() });
    const sim = await startSupplierSim();
    stops.push(() => sim.close());
    for (const start of [
      () => startCapacity({ ...common, ...as('capacity'), ...db('cap') }),
      () => startInventory({ ...common, ...as('inventory'), ...db('inv'), SUPPLIER_URL: sim.url }),
      () => startAvailability({ ...common, ...as('availability'), ...db('avl') }),
      () => startNotifications({ ...common, ...as('notifications'), ...db('ntf') }),
    ]) {
      const running = await start();
      stops.push(() => running.stop());
    }
    rootKey = `root_${randomBytes(16).toString('hex')}`;
    const gateway = await startGateway({
      ...common,
      ...as('gateway'),
      ...db('gw'),
      ROOT_API_KEY: rootKey,
      USER_TOKEN_SECRET: randomBytes(32).toString('hex'),
      OPS_PORT: '0',
      READY_SERVICES: 'capacity,inventory,availability,notifications',
    });
    stops.push(() => gateway.stop());
    base = `http://127.0.0.1:${gateway.port}`;
  }, 120_000);

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await nats?.stop();
  });

  it('nats users - every service runs as its own user: a client books, orders, reads availability live, is notified; dead letters are listed and retried', async () => {
    expect((await call(base, 'GET', '/readyz')).status).toBe(200);
    const tenant = await call(base, 'POST', '/v1/tenants', { key: rootKey, body: { name: 'users' } });
    expect(tenant.status).toBe(201);
    const key = tenant.body.apiKey.key as string;
    const tenantId = tenant.body.tenant.id as string;
    const admin = (method: string, url: string, body?: unknown) => call(base, method, url, { key, body });
    const alice = (await admin('POST', '/v1/auth/user-tokens', { userId: 'alice' })).body.token as string;

    // A booking, seen live on the availability stream and answered by the availability service.
    const session = (await admin('POST', '/v1/sessions', { name: 'Tour', maxCapacity: 5 })).body;
    const date = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const live = openStream(`${base}/v1/stream?channels=availability.session.${session.id}`, { authorization: `Bearer ${key}` });
    expect((await live.response).status).toBe(200);
    await eventually(() => live.comments.length > 0 || live.retry !== undefined);
    const booking = await call(base, 'POST', '/v1/bookings', { key: alice, body: { sessionId: session.id, date, adults: 2 } });
    expect(booking.status).toBe(201);
    await eventually(() => live.events.some((e) => e.event === 'availability.updated'), 20_000);
    live.close();
    const availability = await eventually(async () => {
      const res = await admin('GET', `/v1/availability?date=${date}&sessionId=${session.id}`);
      return res.status === 200 && res.body.bookedSlots === 2 && res;
    }, 20_000);
    expect(availability.body).toMatchObject({ sessionId: session.id, availableSlots: 3 });

    // Alice is notified of her booking.
    const feed = await eventually(async () => {
      const res = await call(base, 'GET', '/v1/notifications', { key: alice });
      return res.status === 200 && res.body.items.length > 0 && res.body;
    }, 20_000);
    expect(feed.items[0]).toMatchObject({ recipient: 'user:alice', type: 'booking_status' });

    // Orders: one the stock covers, one the supplier is asked for (the inventory service's jobs).
    const sku = `SKU-${randomBytes(4).toString('hex')}`.toUpperCase();
    expect((await admin('POST', '/v1/skus', { sku, name: 'Widget', quantity: 2 })).status).toBe(201);
    const covered = await admin('POST', '/v1/orders', { sku, qty: 1 });
    expect(covered.status).toBe(202);
    await eventually(async () => (await admin('GET', `/v1/orders/${covered.body.id}`)).body.status === 'reserved', 20_000);
    const beyond = await admin('POST', '/v1/orders', { sku, qty: 5 });
    expect(beyond.status).toBe(202);
    const supplied = await eventually(async () => {
      const res = await admin('GET', `/v1/orders/${beyond.body.id}`);
      return res.body.supplierRef !== null && res.body;
    }, 20_000);
    expect(supplied.supplierRef).toEqual(expect.any(String));

    // A dead letter of availability's consumer: listed for the tenant's admins, then retried (handed back on its redelivery subject).
    // Its id as the kit names it (stream, sequence, consumer), so its next failure is recorded under the same one.
    const streamSeq = 1_000_000 + randomBytes(2).readUInt16BE();
    const letterId = `EVT_CAPACITY-${streamSeq}-availability-read-model`;
    const nc = await connectAs('availability');
    try {
      await jetstream(nc).publish(
        'dlq.availability.availability-read-model',
        JSON.stringify({
          id: letterId,
          tenantId,
          service: 'availability',
          consumer: 'availability-read-model',
          stream: 'EVT_CAPACITY',
          streamSeq,
          subject: `evt.capacity.${tenantId}.booking.confirmed`,
          deliveries: 5,
          error: 'test: handler failed',
          failedAt: new Date().toISOString(),
          // Not an event (so it fails again), but naming its tenant (so that failure is listed too).
          data: JSON.stringify({ tenantId }),
          headers: {},
        }),
      );
    } finally {
      await nc.close();
    }
    const letters = await eventually(async () => {
      const res = await admin('GET', '/v1/admin/dead-letters');
      return res.status === 200 && res.body.items.some((l: { id: string }) => l.id === letterId) && res;
    }, 20_000);
    expect(letters.body.items.find((l: { id: string }) => l.id === letterId)).toMatchObject({ consumer: 'availability-read-model' });
    const retried = await admin('POST', `/v1/admin/dead-letters/${letterId}/retry`);
    expect(retried.status).toBeLessThan(300);

    // The retried letter goes round: availability reads it again from its redelivery subject, fails
    // on it again (it is no event) and dead-letters it under the same id, listed once more.
    const again = await eventually(async () => {
      const res = await admin('GET', '/v1/admin/dead-letters');
      return res.body.items.find((l: { id: string }) => l.id === letterId);
    }, 20_000);
    expect(again).toMatchObject({ consumer: 'availability-read-model', error: 'malformed event envelope' });
    expect(violations()).toEqual([]);
  }, 120_000);

  it('nats users - a service cannot manage another service’s streams, call RPCs it does not use, forge events or read another inbox', async () => {
    const capacity = await connectAs('capacity');
    const gateway = await connectAs('gateway');
    const availability = await connectAs('availability');
    try {
      const jsm = await jetstreamManager(capacity);
      await expect(jsm.streams.delete('EVT_INVENTORY')).rejects.toThrow(/permission/i);
      await expect(jsm.streams.update('DEAD_LETTERS', { max_age: 1_000_000_000 })).rejects.toThrow(/permission/i);
      await expect(jsm.streams.purge('EVT_CAPACITY')).rejects.toThrow(/permission/i);
      await expect(capacity.request('rpc.notifications.ping', '{}', { timeout: 2000 })).rejects.toThrow(/permission/i);
      await expect(jetstream(capacity).publish('evt.inventory.t_forged.order.reserved', '{}')).rejects.toThrow(/permission/i);

      // The internet-facing gateway: no stream deletion, not even its own; no cross-tenant read-model calls.
      await expect(gateway.request('$JS.API.STREAM.DELETE.EVT_GATEWAY', '', { timeout: 2000 })).rejects.toThrow(/permission/i);
      await expect(gateway.request('$JS.API.STREAM.DELETE.CLIENT', '', { timeout: 2000 })).rejects.toThrow(/permission/i);
      await expect(gateway.request('rpc.capacity.readModel.sessions', '{}', { timeout: 2000 })).rejects.toThrow(/permission/i);

      // Availability's live feed may make consumers of capacity's events, but not rewrite or drain notifications' one.
      const hijack = {
        stream_name: 'EVT_CAPACITY',
        config: { name: 'notifications-capacity', ack_policy: 'none', filter_subject: 'evt.capacity.>' },
      };
      await expect(
        availability.request('$JS.API.CONSUMER.CREATE.EVT_CAPACITY.notifications-capacity.evt.capacity.>', JSON.stringify(hijack), {
          timeout: 2000,
        }),
      ).rejects.toThrow(/permission/i);
      await expect(
        availability.request('$JS.API.CONSUMER.MSG.NEXT.EVT_CAPACITY.notifications-capacity', '{"batch":1}', { timeout: 2000 }),
      ).rejects.toThrow(/permission/i);

      // Availability may call capacity's read-model operations only.
      await expect(availability.request('rpc.capacity.booking.create', '{}', { timeout: 2000 })).rejects.toThrow(/permission/i);

      // Another user's inbox, or everyone's, cannot be subscribed to.
      for (const subject of [`${inboxPrefix('capacity')}.>`, '_INBOX.>']) {
        const refused = new Promise<Error>((resolve) => {
          gateway.subscribe(subject, {
            callback: (error) => {
              if (error) resolve(error);
            },
          });
        });
        await gateway.flush();
        expect((await refused).message).toMatch(/permission/i);
      }

      // Connecting with the default inbox prefix: even a plain request's reply cannot come back.
      const defaultInbox = await connect({ servers: nats.url, user: 'capacity', pass: passwords.capacity });
      try {
        await expect(defaultInbox.request('rpc.capacity.ping', '{}', { timeout: 2000 })).rejects.toThrow();
      } finally {
        await defaultInbox.close();
      }
    } finally {
      await Promise.all([capacity.close(), gateway.close(), availability.close()]);
    }
  });
});
