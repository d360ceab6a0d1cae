import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './harness';

const secret = randomBytes(24).toString('hex');
const body = JSON.stringify({ ref: 'sup-1-nothing', status: 'ok' });

/** Signs by hand, as the format is written in the API guide: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
function signed(id: string, at: Date, raw: string, key: string | Buffer = secret) {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${raw}`).digest('base64');
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${mac}` };
}

const newId = () => `msg_${randomBytes(8).toString('hex')}`;

/**
 * These gateways run no inventory service: a callback whose signature passes goes on to the RPC
 * and gets 503 `upstream_unavailable`, which is how these tests see that it passed.
 * (Acceptance and replays with the service are in tests/e2e/supplier-webhook.test.ts.)
 */
describe('gateway supplier webhook signature', () => {
  let gw: TestGateway;
  const post = (headers: Record<string, string>, raw = body, from = '198.51.100.20') =>
    gw.call('POST', '/v1/webhooks/supplier', { body: raw, headers: { ...headers, 'x-forwarded-for': from } });

  beforeAll(async () => {
    gw = await startTestGateway({
      SUPPLIER_WEBHOOK_SECRET: secret,
      TRUSTED_PROXIES: '127.0.0.1',
      ANONYMOUS_RATE_LIMIT_PER_SECOND: '1',
      ANONYMOUS_RATE_LIMIT_BURST: '5',
      RPC_TIMEOUT_MS: '500',
    });
  });
  afterAll(() => gw.stop());

  it('supplier webhook - a call signed as documented passes the signature check', async () => {
    const res = await post(signed(newId(), new Date(), body));
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('upstream_unavailable');
  });

  it('supplier webhook - missing headers, a tampered body, a stale or future timestamp and the old header are refused with 401', async () => {
    const from = '198.51.100.21';
    const good = signed(newId(), new Date(), body);
    const { 'webhook-signature': _, ...unsigned } = good;
    const missing = await post(unsigned, body, from);
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ code: 'unauthorized', reason: 'missing_headers' });
    expect(missing.body.detail).toMatch(/webhook-signature/);

    const tampered = await post(good, body.replace('"ok"', '"fail"'), from);
    expect(tampered.status).toBe(401);
    expect(tampered.body).toMatchObject({ code: 'unauthorized', reason: 'bad_signature' });

    const stale = await post(signed(newId(), new Date(Date.now() - 6 * 60_000), body), body, from);
    expect(stale.status).toBe(401);
    expect(stale.body).toMatchObject({ code: 'unauthorized', reason: 'stale_timestamp' });

    const future = await post(signed(newId(), new Date(Date.now() + 6 * 60_000), body), body, from);
    expect(future.status).toBe(401);
    expect(future.body.reason).toBe('stale_timestamp');

    // The signature of before (HMAC of the body alone, no timestamp) no longer passes.
    const old = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const legacy = await post({ 'content-type': 'application/json', 'x-supplier-signature': old }, body, '198.51.100.22');
    expect(legacy.status).toBe(401);
  });

  it('supplier webhook - failed signatures are charged to the address; signed calls from it still pass', async () => {
    const from = '198.51.100.30';
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await post(signed(newId(), new Date(), body, 'not-the-secret'), body, from)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const replies = await Promise.all(Array.from({ length: 10 }, () => post(signed(newId(), new Date(), body), body, from)));
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(503));
  });

  it('supplier webhook - a call that was not applied releases its id: the supplier may retry it', async () => {
    const id = newId();
    expect((await post(signed(id, new Date(), body))).status).toBe(503);
    expect((await post(signed(id, new Date(), body))).status).toBe(503);
  });

  it('supplier webhook - whsec_ secrets (Standard Webhooks form) sign with their decoded bytes', async () => {
    const key = randomBytes(32);
    const whsec = `whsec_${key.toString('base64')}`;
    const other = await startTestGateway({ SUPPLIER_WEBHOOK_SECRET: whsec, RPC_TIMEOUT_MS: '500' });
    try {
      const id = newId();
      const now = new Date();
      const byLibrary = new Webhook(whsec).sign(id, now, body);
      const byHand = signed(id, now, body, key);
      expect(byHand['webhook-signature']).toBe(byLibrary);
      expect((await other.call('POST', '/v1/webhooks/supplier', { body, headers: byHand })).status).toBe(503);
      const wrong = signed(newId(), now, body, whsec);
      expect((await other.call('POST', '/v1/webhooks/supplier', { body, headers: wrong })).status).toBe(401);
    } finally {
      await other.stop();
    }
  });

  it('supplier webhook - signed calls have their own rate limit, not the per-address one', async () => {
    const limited = await startTestGateway({
      SUPPLIER_WEBHOOK_SECRET: secret,
      RATE_LIMIT_PER_SECOND: '1',
      RATE_LIMIT_BURST: '3',
      RPC_TIMEOUT_MS: '500',
    });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) {
        const res = await limited.call('POST', '/v1/webhooks/supplier', { body, headers: signed(newId(), new Date(), body) });
        statuses.push(res.status);
        if (res.status === 429) expect(res.headers.get('ratelimit-policy')).toBe('"supplier-webhook";q=3;w=3');
      }
      expect(statuses).toEqual([503, 503, 503, 429]);
    } finally {
      await limited.stop();
    }
  });

  it('supplier webhook - without SUPPLIER_WEBHOOK_SECRET every callback is refused', async () => {
    const unset = await startTestGateway({});
    try {
      const res = await unset.call('POST', '/v1/webhooks/supplier', { body, headers: signed(newId(), new Date(), body) });
      expect(res.status).toBe(401);
      expect(res.body.reason).toBe('not_configured');
    } finally {
      await unset.stop();
    }
  });
});
