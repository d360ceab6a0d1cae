/**
 * The walkthrough of docs/adding-a-service.md, step by step, so it cannot rot: a service with
 * one RPC operation that stores a document and announces it with an event, a second service
 * that consumes the event, and a gateway route that calls the operation. The walkthrough's
 * service takes the name of one not built yet; its contracts are declared here instead of in
 * libs/contracts.
 */
import { eventSubject, parseCatalogEvent, rpc } from '@allot/contracts';
import { defineService, type EventData, newId, type OutboxEntry } from '@allot/kit';
import { eventually, testEnv } from '@allot/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { router } from '../src/http/openapi';
import { registerRpcRoutes, rpcRoute } from '../src/http/rpc-route';
import { createTenant, startTestGateway, type TestGateway } from './harness';

const Greeting = z.object({ id: z.string(), name: z.string(), message: z.string() });
const CreateGreeting = z.strictObject({ name: z.string().trim().min(1).max(100) });
const greetingRpc = { 'greeting.create': rpc('Greets someone', CreateGreeting, Greeting) };

interface GreetingDoc {
  _id: string;
  tenantId: string;
  name: string;
  message: string;
  outbox?: OutboxEntry[];
}

const greeter = defineService({
  name: 'notifications',
  rpc: greetingRpc,
  // The composition root: what the handlers use, and nothing else of the service.
  context: (service) => ({
    clock: service.clock,
    greetings: service.outboxCollection<GreetingDoc>('greetings'),
    notified: (tenantId: string, data: EventData<'notifications', 'notification.created'>) =>
      service.event(tenantId, 'notification.created', data),
  }),
  handlers: ({ clock, greetings, notified }) => ({
    'greeting.create': async ({ name }, { tenantId }) => {
      const greeting = { id: newId('grt'), name, message: `Hello, ${name}!` };
      const notification = {
        id: greeting.id,
        recipient: 'admins' as const,
        type: 'greeting',
        title: 'Greeting',
        message: greeting.message,
        severity: 'info' as const,
        data: {},
        readAt: null,
        createdAt: clock.now().toISOString(),
      };
      // The document and the event that announces it are one write; the kit publishes the event.
      await greetings.insert({ _id: greeting.id, tenantId, name, message: greeting.message }, [notified(tenantId, { notification })]);
      return greeting;
    },
  }),
});

describe('adding a service (docs/adding-a-service.md)', () => {
  let gw: TestGateway;
  let key: string;
  const heard: string[] = [];
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    gw = await startTestGateway(
      {},
      {
        // What `src/routes/greetings.ts` would export, mounted under /v1 as app.ts mounts the domains' routes.
        extend: (app, deps) => {
          const routes = router();
          registerRpcRoutes(routes, deps, [
            rpcRoute({
              method: 'post',
              path: '/greetings',
              summary: 'Greet someone',
              operationId: 'createGreeting',
              tag: 'Notifications',
              description: 'Sends a greeting.',
              credentials: ['apiKey'],
              service: 'notifications',
              operation: 'greeting.create',
              contract: greetingRpc['greeting.create'],
              body: CreateGreeting,
              status: 201,
              idempotent: true,
              input: (r) => r.body,
            }),
          ]);
          app.route('/v1', routes);
        },
      },
    );
    const tenant = await createTenant(gw);
    key = tenant.key;
    const listener = defineService({
      name: 'availability',
      context: () => heard,
      consumers: (log) => [
        {
          source: 'notifications',
          durable: `walkthrough-${tenant.tenantId}`,
          filterSubjects: [eventSubject('notifications', tenant.tenantId, 'notification.created')],
          handler: async (envelope) => {
            const event = parseCatalogEvent('notifications', envelope);
            if (event?.type === 'notification.created') log.push(event.data.notification.id);
          },
        },
      ],
    });
    for (const running of [await greeter.start(testEnv()), await listener.start(testEnv())]) stops.push(() => running.stop());
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
    await gw.stop();
  });

  it('walkthrough - the route calls the operation, whose event reaches the other service', async () => {
    const res = await gw.call('POST', '/v1/greetings', { key, body: { name: 'Ada' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Ada', message: 'Hello, Ada!' });
    await eventually(() => heard.includes(res.body.id));
  });

  it('walkthrough - bad input is a 400 naming the field, before the service is called', async () => {
    const res = await gw.call('POST', '/v1/greetings', { key, body: { name: '' } });
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('name');
  });

  it('walkthrough - the operation needs a tenant: the root key is refused', async () => {
    const res = await gw.call('POST', '/v1/greetings', { key: gw.rootKey, body: { name: 'Ada' } });
    expect(res.status).toBe(403);
  });
});
