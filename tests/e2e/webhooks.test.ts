import { startWebhookReceiver, type WebhookReceiver } from '@allot/webhook-receiver';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Stack, startStack } from './stack';

/** Outbound webhooks through the gateway: real NATS, FerretDB, capacity, notifications and webhooks; a local receiver. */
describe('outbound webhooks', () => {
  let stack: Stack;
  let receiver: WebhookReceiver;
  let admin: ReturnType<Stack['as']>;
  let tag = 0;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    stack = await startStack({
      notifications: {},
      webhooks: {
        WEBHOOK_RETRY_SCHEDULE: '0.2,0.2',
        WEBHOOK_TIMEOUT_MS: '20000',
        WEBHOOK_ENDPOINT_CONCURRENCY: '2',
        WEBHOOK_POLL_MS: '200',
      },
    });
    admin = stack.as((await stack.newTenant()).key);
  });
  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  /** A path of its own on the receiver for one endpoint: `/hooks/<scenario>/<n>`. */
  const hook = (scenario: string, query = '') => {
    const path = `/hooks/${scenario}/${++tag}`;
    return { path, url: `${receiver.url}${path}${query}` };
  };
  const createEndpoint = async (body: Record<string, unknown>) => {
    const res = await admin('POST', '/v1/webhooks/endpoints', body);
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string; url: string };
  };
  let sessions = 0;
  /** One `session.created` event of the tenant. */
  const createSession = async () => {
    const res = await admin('POST', '/v1/sessions', { name: `Tour ${++sessions}`, maxCapacity: 5 });
    expect(res.status).toBe(201);
    return res.body as { id: string };
  };
  const received = (path: string, count: number, timeoutMs = 20_000) =>
    eventually(() => receiver.received(path).length >= count && receiver.received(path), timeoutMs);
  const deliveries = async (id: string, query = '') => {
    const res = await admin('GET', `/v1/webhooks/endpoints/${id}/deliveries${query}`);
    expect(res.status).toBe(200);
    return res.body.items as {
      messageId: string;
      status: string;
      attempts: { at: string; statusCode: number | null }[];
      nextAttemptAt: string | null;
    }[];
  };

  it('endpoints - created with a whsec_ secret shown once; listed, read and changed without it; deleted with 204', async () => {
    const target = hook('accept');
    const created = await createEndpoint({ url: target.url, description: 'CRM', eventTypes: ['session.created'] });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const one = await admin('GET', `/v1/webhooks/endpoints/${created.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ url: target.url, description: 'CRM', eventTypes: ['session.created'], enabled: true });
    expect(one.body.secret).toBeUndefined();
    const list = await admin('GET', '/v1/webhooks/endpoints');
    expect(list.body.items.map((e: { id: string }) => e.id)).toContain(created.id);
    expect(list.text).not.toContain(created.secret);
    const patched = await admin('PATCH', `/v1/webhooks/endpoints/${created.id}`, { description: 'CRM (new)' });
    expect(patched.body).toMatchObject({ description: 'CRM (new)', url: target.url });
    expect((await admin('PATCH', `/v1/webhooks/endpoints/${created.id}`, { eventTypes: ['no.such_event'] })).body.errors).toEqual([
      expect.objectContaining({ path: 'eventTypes.0' }),
    ]);
    expect((await admin('POST', '/v1/webhooks/endpoints', { url: 'not a url' })).status).toBe(400);
    // A retry with the same Idempotency-Key answers the same endpoint and secret (the stored answer is sealed).
    const keyed = { 'idempotency-key': `whk-${created.id}` };
    const once = await admin('POST', '/v1/webhooks/endpoints', { url: target.url }, keyed);
    const again = await admin('POST', '/v1/webhooks/endpoints', { url: target.url }, keyed);
    expect(once.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(once.body);
    expect(once.body.secret).toMatch(/^whsec_/);
    expect((await admin('DELETE', `/v1/webhooks/endpoints/${created.id}`)).status).toBe(204);
    expect((await admin('GET', `/v1/webhooks/endpoints/${created.id}`)).status).toBe(404);
  });

  it('delivery - every event of the tenant arrives signed (verified with the standardwebhooks package); the filter keeps the types named', async () => {
    const all = hook('accept');
    const sessionsOnly = hook('accept');
    const capacityOnly = hook('accept');
    const everything = await createEndpoint({ url: all.url });
    const filtered = await createEndpoint({ url: sessionsOnly.url, eventTypes: ['session.created'] });
    await createEndpoint({ url: capacityOnly.url, eventTypes: ['capacity.adjusted'] });
    const session = await createSession();

    const [hit] = await received(sessionsOnly.path, 1);
    const event = new Webhook(filtered.secret).verify(hit!.body, hit!.headers) as {
      id: string;
      type: string;
      data: { session: { id: string } };
    };
    expect(event).toMatchObject({ type: 'session.created', data: { session: { id: session.id } } });
    expect(hit!.headers['webhook-id']).toBe(event.id);
    const seen = await received(all.path, 1);
    const verified = seen.map((h) => new Webhook(everything.secret).verify(h.body, h.headers) as { type: string });
    expect(verified.map((e) => e.type)).toContain('session.created');
    // Another endpoint's secret does not verify it.
    expect(() => new Webhook(everything.secret).verify(hit!.body, hit!.headers)).toThrow();
    expect(receiver.received(capacityOnly.path)).toHaveLength(0);
    const [delivery] = await eventually(async () => {
      const items = await deliveries(filtered.id, '?status=delivered');
      return items.length === 1 && items;
    });
    expect(delivery).toMatchObject({
      messageId: event.id,
      status: 'delivered',
      nextAttemptAt: null,
      attempts: [expect.objectContaining({ statusCode: 200 })],
    });
  });

  it('retries - a failing endpoint is retried on the schedule with the same webhook-id, then exhausted; resend and recover send it again', async () => {
    const failing = hook('fail');
    const endpoint = await createEndpoint({ url: failing.url, eventTypes: ['session.created'] });
    await createSession();
    const hits = await received(failing.path, 3);
    expect(new Set(hits.map((h) => h.headers['webhook-id'])).size).toBe(1);
    const [exhausted] = await eventually(async () => {
      const items = await deliveries(endpoint.id, '?status=exhausted');
      return items.length === 1 && items;
    });
    expect(exhausted!.attempts.map((a) => a.statusCode)).toEqual([500, 500, 500]);
    expect(exhausted!.nextAttemptAt).toBeNull();
    await new Promise((r) => setTimeout(r, 600)); // nothing more after the schedule's end
    expect(receiver.received(failing.path)).toHaveLength(3);

    // Resend: once more, now (it fails again: 1 + 2 retries more).
    const resent = await admin('POST', `/v1/webhooks/endpoints/${endpoint.id}/deliveries/${exhausted!.messageId}/resend`);
    expect(resent.status).toBe(202);
    await received(failing.path, 4);
    expect((await admin('POST', `/v1/webhooks/endpoints/${endpoint.id}/deliveries/evt_unknown/resend`)).status).toBe(404);
    await eventually(async () => (await deliveries(endpoint.id, '?status=exhausted')).length === 1);

    // The receiver is fixed: recover everything that failed since before the event.
    const fixed = hook('accept');
    expect((await admin('PATCH', `/v1/webhooks/endpoints/${endpoint.id}`, { url: fixed.url })).status).toBe(200);
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const recovery = await admin('POST', `/v1/webhooks/endpoints/${endpoint.id}/recover`, { since });
    expect(recovery.status).toBe(202);
    expect(recovery.body).toMatchObject({ endpointId: endpoint.id, since });
    const [recovered] = await received(fixed.path, 1);
    expect(recovered!.headers['webhook-id']).toBe(exhausted!.messageId);
    await eventually(async () => (await deliveries(endpoint.id, '?status=delivered')).length === 1);
  });

  it('Retry-After - a 429 waits as long as it asks (not the short schedule), then delivers', async () => {
    const throttled = hook('throttle', '?after=2&times=1');
    await createEndpoint({ url: throttled.url, eventTypes: ['session.created'] });
    await createSession();
    const [first, second] = await received(throttled.path, 2);
    expect(first!.status).toBe(429);
    expect(second!.status).toBe(200);
    // The schedule alone would have retried after 0.2 s (±20 %).
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(2000);
  });

  it('410 Gone disables the endpoint and the admins are notified', async () => {
    const gone = hook('gone');
    const endpoint = await createEndpoint({ url: gone.url, eventTypes: ['session.created'] });
    await createSession();
    const disabled = await eventually(async () => {
      const res = await admin('GET', `/v1/webhooks/endpoints/${endpoint.id}`);
      return !res.body.enabled && res.body;
    });
    expect(disabled.disabledReason).toBe('gone');
    const notification = await eventually(async () => {
      const feed = await admin('GET', '/v1/notifications');
      return feed.body.items.find(
        (n: { type: string; data: { endpointId?: string } }) => n.type === 'webhook_endpoint_disabled' && n.data.endpointId === endpoint.id,
      );
    });
    expect(notification).toMatchObject({ recipient: 'admins', severity: 'critical' });
    await createSession();
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.received(gone.path)).toHaveLength(1);
    expect((await admin('POST', `/v1/webhooks/endpoints/${endpoint.id}/test`)).status).toBe(409);
  });

  it('isolation - an endpoint that hangs holds only its own slots: a fast one of its tenant, and one of another tenant, receive every event meanwhile', async () => {
    const hanging = hook('hang');
    const fast = hook('accept');
    const elsewhere = hook('accept');
    await createEndpoint({ url: hanging.url, eventTypes: ['session.created'] });
    const quick = await createEndpoint({ url: fast.url, eventTypes: ['session.created'] });
    const other = stack.as((await stack.newTenant()).key);
    const theirs = await other('POST', '/v1/webhooks/endpoints', { url: elsewhere.url, eventTypes: ['session.created'] });
    expect(theirs.status).toBe(201);
    const count = 12;
    for (let i = 0; i < count; i++) {
      await createSession();
      expect((await other('POST', '/v1/sessions', { name: `Their tour ${i}`, maxCapacity: 3 })).status).toBe(201);
    }
    const hits = await received(fast.path, count);
    for (const h of hits) new Webhook(quick.secret).verify(h.body, h.headers);
    for (const h of await received(elsewhere.path, count)) new Webhook(theirs.body.secret).verify(h.body, h.headers);
    // The hanging one was given its two slots (WEBHOOK_ENDPOINT_CONCURRENCY) and no more, and answered none.
    expect(receiver.received(hanging.path).length).toBeLessThanOrEqual(2);
  });

  it('rotate-secret - the new secret signs at once and the old one still signs beside it', async () => {
    const target = hook('accept');
    const endpoint = await createEndpoint({ url: target.url, eventTypes: ['session.created'] });
    const rotated = await admin('POST', `/v1/webhooks/endpoints/${endpoint.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    const test = await admin('POST', `/v1/webhooks/endpoints/${endpoint.id}/test`);
    expect(test.status).toBe(202);
    const [hit] = await received(target.path, 1);
    expect(hit!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    const event = new Webhook(rotated.body.secret).verify(hit!.body, hit!.headers) as { id: string; type: string };
    expect(event).toMatchObject({ id: test.body.messageId, type: 'webhook.test' });
    expect(new Webhook(endpoint.secret).verify(hit!.body, hit!.headers)).toEqual(event);
  });
});

describe('outbound webhooks with private addresses refused (the default)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ webhooks: { WEBHOOK_ALLOW_PRIVATE: 'false' } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('a private, loopback or link-local address, or plain http, is 400 invalid_webhook_url and nothing is stored', async () => {
    const admin = stack.as((await stack.newTenant()).key);
    for (const url of [
      'https://127.0.0.1/hook',
      'https://10.1.2.3/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hook',
      'https://localhost/hook',
      'http://example.com/hook',
    ]) {
      const res = await admin('POST', '/v1/webhooks/endpoints', { url });
      expect(res.status, url).toBe(400);
      expect(res.body.code, url).toBe('invalid_webhook_url');
      expect(res.body.errors, url).toEqual([expect.objectContaining({ path: 'url' })]);
    }
    expect((await admin('GET', '/v1/webhooks/endpoints')).body.items).toEqual([]);
    // Changing a URL is checked the same way, and the endpoint keeps its URL.
    const created = await admin('POST', '/v1/webhooks/endpoints', { url: 'https://93.184.215.14/hook' });
    expect(created.status).toBe(201);
    const changed = await admin('PATCH', `/v1/webhooks/endpoints/${created.body.id}`, { url: 'https://192.168.0.10/hook' });
    expect(changed.status).toBe(400);
    expect(changed.body.code).toBe('invalid_webhook_url');
    expect((await admin('GET', `/v1/webhooks/endpoints/${created.body.id}`)).body.url).toBe('https://93.184.215.14/hook');
  });
});
