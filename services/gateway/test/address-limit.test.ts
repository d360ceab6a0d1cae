import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestGateway, type TestGateway, userToken } from './harness';

/** A token shaped like a user token (three base64url parts) that no secret of ours signed. */
const junkToken = () => [16, 48, 32].map((n) => randomBytes(n).toString('base64url')).join('.');
const randomKey = () => `allot_${randomBytes(12).toString('base64url')}_${randomBytes(32).toString('base64url')}`;

/** API keys read from the database so far, from the operations port's metrics. */
async function keyLookups(gw: TestGateway): Promise<number> {
  const text = await (await fetch(`${gw.ops}/metrics`)).text();
  return Number(/^allot_api_key_lookups_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
}

describe('gateway limit before authentication', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ ANONYMOUS_RATE_LIMIT_PER_SECOND: '2', ANONYMOUS_RATE_LIMIT_BURST: '10', TRUSTED_PROXIES: '127.0.0.1' });
  });
  afterAll(() => gw.stop());

  it('address limit - 500 random keys from one address are limited after a few and cost at most that many lookups', async () => {
    const { key } = await createTenant(gw);
    const attacker = { 'x-forwarded-for': '203.0.113.7' };
    // A client of that address already at work with its key.
    expect((await gw.call('GET', '/v1/api-keys', { key, headers: attacker })).status).toBe(200);
    const before = await keyLookups(gw);
    const started = performance.now();
    const replies = await Promise.all(
      Array.from({ length: 500 }, () => gw.call('GET', '/v1/api-keys', { key: randomKey(), headers: attacker })),
    );
    // The burst of 10, plus what the allowance refilled (2/s) while a slow machine sent them.
    const allowance = 10 + Math.ceil((2 * (performance.now() - started)) / 1000);
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(allowance);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(500 - allowance);
    const limited = replies.find((r) => r.status === 429);
    expect(limited?.body.code).toBe('rate_limited');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited?.headers.get('ratelimit-policy')).toBe('"per-address";q=10;w=5');
    expect((await keyLookups(gw)) - before).toBeLessThanOrEqual(allowance);

    // Without any credential the address is limited too; the key at work there is not.
    expect((await gw.call('GET', '/v1/api-keys', { headers: attacker })).status).toBe(429);
    expect((await gw.call('GET', '/v1/api-keys', { key, headers: attacker })).status).toBe(200);
    // Another client behind the same trusted proxy is not limited.
    expect((await gw.call('GET', '/v1/api-keys', { key: randomKey(), headers: { 'x-forwarded-for': '198.51.100.1' } })).status).toBe(401);
  });

  it('address limit - many concurrent requests with a valid key this replica has not verified yet all pass', async () => {
    const { key } = await createTenant(gw);
    const headers = { 'x-forwarded-for': '203.0.113.99' };
    const replies = await Promise.all(Array.from({ length: 50 }, () => gw.call('GET', '/v1/api-keys', { key, headers })));
    expect(replies.map((r) => r.status)).toEqual(Array(50).fill(200));
  });

  it('address limit - X-Forwarded-For is believed only as far as trusted proxies wrote it', async () => {
    // The client claims to be someone else in front of the chain: its real address (the last
    // untrusted hop) is still the one limited.
    const spoofing = () => ({ 'x-forwarded-for': `10.${Math.floor(Math.random() * 255)}.0.1, 192.0.2.44` });
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await gw.call('GET', '/v1/api-keys', { key: randomKey(), headers: spoofing() })).status);
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
  });

  it('address limit - X-Forwarded-For from a peer that is not a trusted proxy is ignored', async () => {
    const untrusted = await startTestGateway({ ANONYMOUS_RATE_LIMIT_PER_SECOND: '1', ANONYMOUS_RATE_LIMIT_BURST: '3' });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) {
        const headers = { 'x-forwarded-for': `198.51.100.${i}` };
        statuses.push((await untrusted.call('GET', '/v1/api-keys', { key: randomKey(), headers })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await untrusted.stop();
    }
  });
  it('address limit - junk tokens from an address do not lock out the valid user tokens and API keys used there', async () => {
    // The cache of verified keys lapses quickly here, so the key below must be verified again under the flood.
    const quick = await startTestGateway({
      ANONYMOUS_RATE_LIMIT_PER_SECOND: '1',
      ANONYMOUS_RATE_LIMIT_BURST: '5',
      TRUSTED_PROXIES: '127.0.0.1',
      API_KEY_CACHE_MS: '50',
    });
    try {
      const { key } = await createTenant(quick);
      const token = await userToken(quick, key, 'user-1');
      const shared = { 'x-forwarded-for': '203.0.113.50' };
      expect((await quick.call('GET', '/v1/api-keys', { key, headers: shared })).status).toBe(200);
      const junk = await Promise.all(
        Array.from({ length: 100 }, (_, i) => quick.call('GET', '/v1/me', { key: i % 2 ? junkToken() : randomKey(), headers: shared })),
      );
      expect(junk.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(95);
      expect((await quick.call('GET', '/v1/me', { key: junkToken(), headers: shared })).status).toBe(429);
      // Let the key's cached verification lapse: it is looked up again, from an address out of allowance.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await quick.call('GET', '/v1/me', { key: token, headers: shared })).status).toBe(200);
      expect((await quick.call('GET', '/v1/api-keys', { key, headers: shared })).status).toBe(200);
      // Valid credentials took nothing from the address: many of them in a row all pass.
      const valid = await Promise.all(
        Array.from({ length: 20 }, (_, i) => quick.call('GET', '/v1/me', { key: i % 2 ? token : key, headers: shared })),
      );
      expect(valid.map((r) => r.status)).toEqual(Array(20).fill(200));
    } finally {
      await quick.stop();
    }
  });

  it('address limit - valid user tokens from a fresh address are never charged to it', async () => {
    const { key } = await createTenant(gw);
    const token = await userToken(gw, key, 'user-2');
    const headers = { 'x-forwarded-for': '203.0.113.60' };
    const replies = await Promise.all(Array.from({ length: 40 }, () => gw.call('GET', '/v1/me', { key: token, headers })));
    expect(replies.map((r) => r.status)).toEqual(Array(40).fill(200));
    // The whole allowance is still there for failures: the first ten junk tokens are 401.
    const statuses = [];
    for (let i = 0; i < 11; i++) statuses.push((await gw.call('GET', '/v1/me', { key: junkToken(), headers })).status);
    expect(statuses).toEqual([...Array(10).fill(401), 429]);
  });

  it('address limit - IPv6 addresses of one /64 share an allowance; another /64 has its own', async () => {
    const statuses = [];
    for (let i = 0; i < 10; i++) {
      // Ten addresses of 2001:db8:5:6::/64, written in various ways.
      const address = i % 2 ? `2001:db8:5:6:${i}::1` : `2001:0db8:0005:0006:ffff:${i}:0:${i}`;
      statuses.push((await gw.call('GET', '/v1/me', { key: junkToken(), headers: { 'x-forwarded-for': address } })).status);
    }
    expect(statuses).toEqual(Array(10).fill(401));
    expect((await gw.call('GET', '/v1/me', { headers: { 'x-forwarded-for': '2001:db8:5:6::abcd' } })).status).toBe(429);
    expect((await gw.call('GET', '/v1/me', { key: junkToken(), headers: { 'x-forwarded-for': '2001:db8:5:7::1' } })).status).toBe(401);
  });
});
