import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestGateway, type TestGateway } from './harness';

// A new API key is shown to its creator, and again to the same client retrying with the same
// Idempotency-Key, but never kept readable in the gateway's database.
describe('idempotency - answers that carry a secret', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.stop();
  });

  /** Everything the gateway's database holds, as text. */
  const everythingStored = async () => {
    const db = gw.service.db;
    const texts: string[] = [];
    for (const { name } of await db.listCollections().toArray()) texts.push(JSON.stringify(await db.collection(name).find().toArray()));
    return texts.join('\n');
  };

  it('idempotency - a new tenant and a new API key replay with the same secret, which is nowhere in the database', async () => {
    const headers = { 'idempotency-key': 'secret-tenant-1' };
    const first = await gw.call('POST', '/v1/tenants', { key: gw.rootKey, body: { name: 'Sealed' }, headers });
    expect(first.status).toBe(201);
    const replay = await gw.call('POST', '/v1/tenants', { key: gw.rootKey, body: { name: 'Sealed' }, headers });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);

    const { key } = await createTenant(gw, 'Keys');
    const keyHeaders = { 'idempotency-key': 'secret-key-1' };
    const created = await gw.call('POST', '/v1/api-keys', { key, body: { name: 'ci' }, headers: keyHeaders });
    expect(created.status).toBe(201);
    const again = await gw.call('POST', '/v1/api-keys', { key, body: { name: 'ci' }, headers: keyHeaders });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.key).toBe(created.body.key);
    // The replayed key works.
    expect((await gw.call('GET', '/v1/api-keys', { key: again.body.key })).status).toBe(200);

    const stored = await everythingStored();
    expect(stored).toContain('secret-key-1'); // the records are there…
    expect(stored).not.toContain(first.body.apiKey.key); // …but no secret in a readable form
    expect(stored).not.toContain(created.body.key);
  });
});
