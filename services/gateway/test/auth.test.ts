import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestGateway, type TestGateway, userToken } from './harness';

describe('gateway auth and tenancy', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw.stop());

  it('auth - creating a tenant needs the root key and shows its API key once', async () => {
    expect((await gw.call('POST', '/v1/tenants', { body: { name: 'x' } })).status).toBe(401);
    const wrong = await gw.call('POST', '/v1/tenants', { key: 'root_wrong_wrong_wrong', body: { name: 'x' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');
    expect(wrong.body).toMatchObject({ code: 'unauthorized', status: 401 });

    const created = await gw.call('POST', '/v1/tenants', { key: gw.rootKey, body: { name: 'Acme' } });
    expect(created.status).toBe(201);
    expect(created.body.tenant).toMatchObject({ name: 'Acme' });
    expect(created.body.apiKey.key).toMatch(/^allot_/);

    const list = await gw.call('GET', '/v1/api-keys', { key: created.body.apiKey.key });
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ id: created.body.apiKey.id, name: 'Default' })]);
    expect(list.text).not.toContain(created.body.apiKey.key.slice(-43)); // the secret (the prefix may contain '_')
    expect(list.body.items[0]).not.toHaveProperty('key');
  });

  it('auth - an API key of one tenant is useless for another tenant, which sees 404', async () => {
    const a = await createTenant(gw, 'A');
    const b = await createTenant(gw, 'B');
    expect((await gw.call('DELETE', `/v1/api-keys/${a.keyId}`, { key: b.key })).status).toBe(404);
    const bList = await gw.call('GET', '/v1/api-keys', { key: b.key });
    expect(bList.body.items.map((k: { id: string }) => k.id)).toEqual([b.keyId]);
    expect((await gw.call('GET', '/v1/api-keys', { key: a.key })).status).toBe(200);
  });

  it('auth - the root key and user tokens are refused on tenant admin routes with 403', async () => {
    const { key } = await createTenant(gw);
    expect((await gw.call('GET', '/v1/api-keys', { key: gw.rootKey })).status).toBe(403);
    const token = await userToken(gw, key, 'user-1');
    const res = await gw.call('GET', '/v1/api-keys', { key: token });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
    expect((await gw.call('POST', '/v1/auth/user-tokens', { key: token, body: { userId: 'u2' } })).status).toBe(403);
  });

  it('auth - an expired or tampered user token is 401', async () => {
    const { key } = await createTenant(gw);
    const token = await userToken(gw, key, 'user-1', 1);
    const tampered = `${token.slice(0, -2)}xx`;
    expect((await gw.call('GET', '/v1/stream?channels=user', { key: tampered })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await gw.call('GET', '/v1/stream?channels=user', { key: token });
    expect(expired.status).toBe(401);
  });

  it('auth - user token lifetime is 1..86400 s, default 3600', async () => {
    const { key } = await createTenant(gw);
    const res = await gw.call('POST', '/v1/auth/user-tokens', { key, body: { userId: 'u' } });
    const lifetime = (Date.parse(res.body.expiresAt) - Date.now()) / 1000;
    expect(lifetime).toBeGreaterThan(3590);
    expect(lifetime).toBeLessThanOrEqual(3600);
    const tooLong = await gw.call('POST', '/v1/auth/user-tokens', { key, body: { userId: 'u', ttlSeconds: 86_401 } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors).toEqual([expect.objectContaining({ path: 'ttlSeconds' })]);
  });

  it('auth - a revoked key stops working on every replica within 5 s', async () => {
    const replica = await startTestGateway({ ROOT_API_KEY: gw.rootKey, MONGO_DB: gw.service.config.MONGO_DB });
    try {
      const { key } = await createTenant(gw);
      const second = await gw.call('POST', '/v1/api-keys', { key, body: { name: 'ci' } });
      expect(second.status).toBe(201);
      // Both replicas have the key cached.
      expect((await replica.call('GET', '/v1/api-keys', { key: second.body.key })).status).toBe(200);
      expect((await gw.call('DELETE', `/v1/api-keys/${second.body.id}`, { key })).status).toBe(204);
      const revokedAt = Date.now();
      expect((await gw.call('GET', '/v1/api-keys', { key: second.body.key })).status).toBe(401);
      let status = 200;
      while (status !== 401 && Date.now() - revokedAt < 5000) {
        status = (await replica.call('GET', '/v1/api-keys', { key: second.body.key })).status;
        if (status !== 401) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(401);
      expect(Date.now() - revokedAt).toBeLessThan(5000);
      expect((await gw.call('DELETE', `/v1/api-keys/${second.body.id}`, { key })).status).toBe(404);
    } finally {
      await replica.stop();
    }
  });
});
