import type { ChildProcess } from 'node:child_process';
import { startWebhookReceiver, type WebhookReceiver } from '@allot/webhook-receiver';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Stack, startServiceProcess, startStack, storedEvents } from './stack';

describe('webhooks service killed mid-delivery', () => {
  let stack: Stack;
  let receiver: WebhookReceiver;
  let child: ChildProcess | undefined;
  // Short attempts, so a killed process's leases run out within seconds.
  const env = { WEBHOOK_TIMEOUT_MS: '1000', WEBHOOK_RETRY_SCHEDULE: '0.2,0.5,1,1,1', WEBHOOK_POLL_MS: '200' };

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    stack = await startStack({ webhooks: env, webhooksInProcess: false, gateway: { RPC_TIMEOUT_MS: '3000' } });
    child = await startServiceProcess(stack, 'webhooks', env);
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await stack?.stop();
    await receiver?.close();
  });

  it('faults - every event reaches the endpoint at least once across SIGKILLs, each signed, under the same webhook-id', async () => {
    const { tenantId, key } = await stack.newTenant();
    const admin = stack.as(key);
    const created = await admin('POST', '/v1/webhooks/endpoints', {
      url: `${receiver.url}/hooks/accept/faults`,
      eventTypes: ['session.created'],
    });
    expect(created.status).toBe(201);

    let made = 0;
    const burst = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const res = await admin('POST', '/v1/sessions', { name: `Tour ${made}`, maxCapacity: 5 });
        expect(res.status).toBe(201);
        made++;
      }
    };
    for (let round = 0; round < 3; round++) {
      const work = burst(15);
      // Killed while events are being fanned out and delivered.
      await eventually(() => receiver.received('/hooks/accept/faults').length > round * 10);
      child?.kill('SIGKILL');
      await work;
      child = await startServiceProcess(stack, 'webhooks', env);
    }
    await burst(5);

    const events = await storedEvents(stack.natsUrl, 'EVT_CAPACITY', `evt.capacity.${tenantId}.session.created`);
    expect(events).toHaveLength(made);
    const ids = new Set(events.map((e) => e.id));
    const delivered = await eventually(() => {
      const got = new Set(receiver.received('/hooks/accept/faults').map((r) => r.headers['webhook-id']));
      return [...ids].every((id) => got.has(id)) && got;
    }, 60_000);
    expect([...delivered].filter((id) => !ids.has(id as string))).toEqual([]);
    const webhook = new Webhook(created.body.secret);
    for (const hit of receiver.received('/hooks/accept/faults')) expect(() => webhook.verify(hit.body, hit.headers)).not.toThrow();
  }, 180_000);
});
