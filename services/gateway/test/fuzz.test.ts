import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestGateway, type TestGateway } from './harness';

describe('gateway under random input', () => {
  let gw: TestGateway;
  let key: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    ({ key } = await createTenant(gw));
  });
  afterAll(() => gw.stop());

  const body = fc.oneof(
    fc.jsonValue(),
    fc.string(),
    fc.record({ name: fc.jsonValue(), userId: fc.jsonValue(), ttlSeconds: fc.jsonValue() }, { requiredKeys: [] }),
  );

  it('fuzz - random bodies, queries and ids never produce a 5xx on any route', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'POST /v1/tenants',
          'POST /v1/api-keys',
          'POST /v1/auth/user-tokens',
          'GET /v1/api-keys',
          'DELETE /v1/api-keys/',
          'GET /v1/stream',
        ),
        body,
        fc.string({ maxLength: 40 }),
        async (route, payload, text) => {
          const [method, path] = route.split(' ') as [string, string];
          const credential = path === '/v1/tenants' ? gw.rootKey : key;
          const query = `?${encodeURIComponent(text)}=${encodeURIComponent(text)}&limit=${encodeURIComponent(text)}&channels=${encodeURIComponent(text)}`;
          const url = method === 'DELETE' ? `${path}${encodeURIComponent(text) || 'x'}` : method === 'GET' ? `${path}${query}` : path;
          const raw = typeof payload === 'string' ? payload : JSON.stringify(payload);
          const res = await fetch(gw.base + url, {
            method,
            headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
            body: method === 'POST' ? raw : undefined,
          });
          await res.body?.cancel();
          expect(res.status).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
  });
});
