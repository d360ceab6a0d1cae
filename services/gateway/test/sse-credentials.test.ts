import { testNats } from '@allot/kit/testing';
import { startNats } from '@allot/local-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, eventually, openStream, startTestGateway, type TestGateway, userToken } from './harness';

/** SSE streams live no longer than their credentials (services/gateway/README.md, SSE). */
describe('gateway SSE and credentials', () => {
  let gw: TestGateway;
  let replica: TestGateway;
  let conn: Awaited<ReturnType<typeof testNats>>;

  beforeAll(async () => {
    gw = await startTestGateway();
    replica = await startTestGateway({ ROOT_API_KEY: gw.rootKey, MONGO_DB: gw.service.config.MONGO_DB });
    conn = await testNats();
  });
  afterAll(async () => {
    await conn.close();
    await replica.stop();
    await gw.stop();
  });

  const publish = (tenantId: string, userId: string, n: number) =>
    conn.js.publish(
      `client.${tenantId}.user.${Buffer.from(userId).toString('base64url')}`,
      JSON.stringify({ event: 'notification.created', data: { n } }),
    );

  it('sse - streams of a revoked key, and of the user tokens it minted, end within 5 s on every replica', async () => {
    const { key, tenantId } = await createTenant(gw);
    const doomed = await gw.call('POST', '/v1/api-keys', { key, body: { name: 'doomed' } });
    const token = await userToken(gw, doomed.body.key, 'dave');
    const byKey = openStream(`${replica.base}/v1/stream?channels=availability`, { authorization: `Bearer ${doomed.body.key}` });
    const byToken = openStream(`${replica.base}/v1/stream?channels=user`, { authorization: `Bearer ${token}` });
    const survivor = openStream(`${replica.base}/v1/stream?channels=availability`, { authorization: `Bearer ${key}` });
    for (const s of [byKey, byToken, survivor]) expect((await s.response).status).toBe(200);

    expect((await gw.call('DELETE', `/v1/api-keys/${doomed.body.id}`, { key })).status).toBe(204);
    const revokedAt = Date.now();
    await eventually(() => byKey.ended && byToken.ended, 5000);
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    for (const s of [byKey, byToken])
      expect(s.events.at(-1)).toMatchObject({ event: 'stream.ended', data: '{"reason":"credential_revoked","lastEventId":null}' });
    // A stream of another key of the tenant carries on.
    await publish(tenantId, 'dave', 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(survivor.ended).toBe(false);
    survivor.close();
  });

  it('sse - a replica that misses the revocation event still ends the stream within 5 s', async () => {
    // A replica on a NATS server of its own shares the database but never hears the event.
    const nats = await startNats();
    const deaf = await startTestGateway({ ROOT_API_KEY: gw.rootKey, MONGO_DB: gw.service.config.MONGO_DB, NATS_URL: nats.url });
    try {
      const { key } = await createTenant(gw);
      const doomed = await gw.call('POST', '/v1/api-keys', { key, body: { name: 'doomed' } });
      const stream = openStream(`${deaf.base}/v1/stream?channels=availability`, { authorization: `Bearer ${doomed.body.key}` });
      expect((await stream.response).status).toBe(200);
      expect((await gw.call('DELETE', `/v1/api-keys/${doomed.body.id}`, { key })).status).toBe(204);
      const revokedAt = Date.now();
      await eventually(() => stream.ended, 5000);
      expect(Date.now() - revokedAt).toBeLessThan(5000);
      expect(stream.events.at(-1)?.data).toContain('credential_revoked');
    } finally {
      await deaf.stop();
      await nats.stop();
    }
  });

  it("sse - a user token's stream ends at its expiry; resuming with a fresh token and Last-Event-ID misses nothing", async () => {
    const { key, tenantId } = await createTenant(gw);
    const stream = openStream(`${gw.base}/v1/stream?channels=user`, { authorization: `Bearer ${await userToken(gw, key, 'erin', 2)}` });
    expect((await stream.response).status).toBe(200);
    await publish(tenantId, 'erin', 1);
    await eventually(() => stream.events.length === 1);
    const opened = Date.now();
    // Published around the expiry: before it, after it, and while nobody listens.
    await publish(tenantId, 'erin', 2);
    await eventually(() => stream.ended, 5000);
    expect(Date.now() - opened).toBeLessThan(3000);
    expect(stream.events.at(-1)).toMatchObject({ event: 'stream.ended', data: expect.stringContaining('"reason":"credential_expired"') });
    await publish(tenantId, 'erin', 3);

    const received = stream.events.filter((e) => e.event === 'notification.created');
    const lastId = received.at(-1)?.id as string;
    const resumed = openStream(`${replica.base}/v1/stream?channels=user`, {
      authorization: `Bearer ${await userToken(gw, key, 'erin')}`,
      'last-event-id': lastId,
    });
    await publish(tenantId, 'erin', 4);
    await eventually(() => resumed.events.length + received.length === 4);
    await new Promise((r) => setTimeout(r, 200));
    expect([...received, ...resumed.events].map((e) => JSON.parse(e.data).n)).toEqual([1, 2, 3, 4]);
    resumed.close();
  });
});
