import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startCapacity } from '@allot/capacity';
import { startGateway } from '@allot/gateway';
import { type LocalServer, startNats } from '@allot/infra';
import { newId } from '@allot/kit';
import { call } from '@allot/kit/testing';
import { startNotifications } from '@allot/notifications';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { root } from '../src/services';

// The NATS users of deploy/k8s (base/nats/users.conf) on a real server: each service connects
// as its own user and the platform still works; a user cannot reach another service's subjects.
describe('deploy - NATS users', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'allot-nats-users-'));
  const password = (name: string) => `pw-${name}`;
  let nats: LocalServer;
  const stops: (() => Promise<void>)[] = [];
  const as = (user: string) => ({ NATS_URL: nats.url, NATS_USER: user, NATS_PASSWORD: password(user) });

  beforeAll(async () => {
    copyFileSync(path.join(root, 'deploy/k8s/base/nats/users.conf'), path.join(dir, 'users.conf'));
    writeFileSync(path.join(dir, 'nats.conf'), 'include ./users.conf\n');
    // Every user of the file needs its password variable, even those this test does not run.
    for (const name of ['capacity', 'inventory', 'availability', 'notifications', 'gateway'])
      process.env[`NATS_PASSWORD_${name}`] = password(name);
    nats = await startNats({ natsConfig: path.join(dir, 'nats.conf') });
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('nats users - every service runs as its own user: a booking made through the gateway is served', async () => {
    const common = { MONGO_URL: inject('mongoUrl'), PORT: '0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' };
    const capacity = await startCapacity({ ...common, ...as('capacity'), MONGO_DB: newId('cap').toLowerCase() });
    stops.push(() => capacity.stop());
    const notifications = await startNotifications({ ...common, ...as('notifications'), MONGO_DB: newId('ntf').toLowerCase() });
    stops.push(() => notifications.stop());
    const rootKey = `root_${randomBytes(16).toString('hex')}`;
    const gateway = await startGateway({
      ...common,
      ...as('gateway'),
      MONGO_DB: newId('gw').toLowerCase(),
      ROOT_API_KEY: rootKey,
      USER_TOKEN_SECRET: randomBytes(32).toString('hex'),
      OPS_PORT: '0',
      READY_SERVICES: 'capacity,notifications',
    });
    stops.push(() => gateway.stop());
    const base = `http://127.0.0.1:${gateway.port}`;

    const tenant = await call(base, 'POST', '/v1/tenants', { key: rootKey, body: { name: 'users' } });
    expect(tenant.status).toBe(201);
    const key = tenant.body.apiKey.key as string;
    const session = await call(base, 'POST', '/v1/sessions', { key, body: { name: 'Tour', description: '', maxCapacity: 5 } });
    expect(session.status).toBe(201);
    const date = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const booking = await call(base, 'POST', '/v1/bookings', { key, body: { sessionId: session.body.id, date, adults: 2 } });
    expect(booking.status).toBe(201);
    expect((await call(base, 'GET', '/readyz')).status).toBe(200);
  }, 60_000);

  it('nats users - a service cannot call another service or publish its events', async () => {
    const nc = await connect({ servers: nats.url, user: 'capacity', pass: password('capacity') });
    try {
      await expect(nc.request('rpc.notifications.ping', '{}', { timeout: 2000 })).rejects.toThrow(/permission/i);
    } finally {
      await nc.close();
    }
  });
});
