import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestGateway, type TestGateway, userToken } from './harness';

describe('gateway who-am-i and docs', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ RATE_LIMIT_PER_SECOND: '40', RATE_LIMIT_BURST: '80' });
  });
  afterAll(() => gw.stop());

  it('me - an API key learns its tenant id, its kind and its limits', async () => {
    const { key, keyId, tenantId } = await createTenant(gw, 'Acme tours');
    const res = await gw.call('GET', '/v1/me', { key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      tenant: { id: tenantId, name: 'Acme tours', createdAt: expect.any(String) },
      credential: { kind: 'apiKey', id: keyId, expiresAt: null },
      user: null,
      limits: { rateLimit: { perSecond: 40, burst: 80 }, streams: { perCredential: expect.any(Number) } },
    });
  });

  it('me - a user token sees its tenant, its user, the key that minted it and its expiry', async () => {
    const { key, keyId, tenantId } = await createTenant(gw);
    const token = await userToken(gw, key, 'alice', 600);
    const res = await gw.call('GET', '/v1/me', { key: token });
    expect(res.status).toBe(200);
    expect(res.body.tenant.id).toBe(tenantId);
    expect(res.body.credential).toMatchObject({ kind: 'user', id: keyId });
    expect(Date.parse(res.body.credential.expiresAt) - Date.now()).toBeGreaterThan(500_000);
    expect(res.body.user).toEqual({ id: 'alice' });
  });

  it('me - the root key has no tenant; no credential is 401', async () => {
    const root = await gw.call('GET', '/v1/me', { key: gw.rootKey });
    expect(root.status).toBe(200);
    expect(root.body).toMatchObject({ tenant: null, credential: { kind: 'root', id: 'root' }, user: null });
    const anonymous = await gw.call('GET', '/v1/me');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('unauthorized');
  });

  it('me - is described in the OpenAPI document', async () => {
    const doc = await gw.call('GET', '/v1/openapi.json');
    expect(doc.body.paths['/v1/me'].get.responses['200']).toBeDefined();
    expect(doc.body.components.schemas.Me).toBeDefined();
  });

  it('docs - the Swagger UI page loads every asset from the gateway itself, none from the internet', async () => {
    const page = await fetch(`${gw.base}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(assets).toEqual(expect.arrayContaining(['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css']));
    for (const asset of assets) {
      const res = await fetch(`${gw.base}${asset}`);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(100);
    }
  });
});
