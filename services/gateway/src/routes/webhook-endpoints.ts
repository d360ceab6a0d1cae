import {
  CreateWebhookEndpoint,
  DeliveryStatus,
  Id,
  ListWebhookEndpoints,
  Pagination,
  Timestamp,
  UpdateWebhookEndpoint,
  type WebhooksRpc,
  webhooksRpc,
} from '@allot/contracts';
import { z } from '@hono/zod-openapi';
import type { GatewayDeps } from '../deps';
import { router } from '../http/openapi';
import { registerRpcRoutes, rpcRoute } from '../http/rpc-route';

const tenant = ['apiKey'] as const;
const service = 'webhooks' as const;
const tag = 'Webhook endpoints' as const;
const op = <K extends keyof WebhooksRpc>(operation: K) => ({ service, operation, contract: webhooksRpc[operation] });
const byId = z.object({ id: Id });
const MessageId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be a message id');

/** A tenant's outbound webhook endpoints and their deliveries (services/webhooks/README.md). */
export function webhookEndpointRoutes(deps: GatewayDeps) {
  const app = router();
  registerRpcRoutes(app, deps, [
    rpcRoute({
      method: 'post',
      path: '/webhooks/endpoints',
      summary: 'Create a webhook endpoint (its secret is shown only here)',
      operationId: 'createWebhookEndpoint',
      tag,
      description:
        "Registers an HTTPS URL to receive the tenant's events as signed POSTs; `eventTypes` keeps the types named (empty: every type). " +
        'The answer is the only one that shows the signing `secret` (`whsec_…`): keep it to verify signatures. A URL that is not https, or whose name resolves to a private, loopback or link-local address, is 400 `invalid_webhook_url`. ' +
        'A tenant has at most `WEBHOOK_MAX_ENDPOINTS` endpoints (50 unless configured; beyond, 429 `quota_exceeded` with `limit: maxWebhookEndpoints`). Send an `Idempotency-Key`: a retry returns the same endpoint and secret.',
      credentials: [...tenant],
      ...op('endpoint.create'),
      body: CreateWebhookEndpoint,
      status: 201,
      idempotent: true,
      carriesSecret: true,
      input: (r) => r.body,
    }),
    rpcRoute({
      method: 'get',
      path: '/webhooks/endpoints',
      summary: "The tenant's webhook endpoints",
      operationId: 'listWebhookEndpoints',
      tag,
      description:
        "The tenant's webhook endpoints, oldest first, a page at a time, never their secrets; `enabled=` keeps the enabled or disabled ones.",
      credentials: [...tenant],
      ...op('endpoint.list'),
      query: ListWebhookEndpoints,
      input: (r) => r.query,
    }),
    rpcRoute({
      method: 'get',
      path: '/webhooks/endpoints/{id}',
      summary: 'A webhook endpoint',
      operationId: 'getWebhookEndpoint',
      tag,
      description: 'One webhook endpoint (never its secret); `disabledReason` says why the platform disabled it, if it did.',
      credentials: [...tenant],
      ...op('endpoint.get'),
      params: byId,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'patch',
      path: '/webhooks/endpoints/{id}',
      summary: 'Change a webhook endpoint',
      operationId: 'updateWebhookEndpoint',
      tag,
      description:
        'Changes the URL, description, event types or enabled flag. Enabling a disabled endpoint clears why it was disabled, and the deliveries waiting for it go out. A new URL is checked as at creation.',
      credentials: [...tenant],
      ...op('endpoint.update'),
      params: byId,
      body: UpdateWebhookEndpoint,
      input: (r) => ({ ...r.body, ...r.params }),
    }),
    rpcRoute({
      method: 'delete',
      path: '/webhooks/endpoints/{id}',
      summary: 'Delete a webhook endpoint',
      operationId: 'deleteWebhookEndpoint',
      tag,
      description: 'Deletes the endpoint and its deliveries; nothing more is sent to it.',
      credentials: [...tenant],
      ...op('endpoint.delete'),
      params: byId,
      status: 204,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'post',
      path: '/webhooks/endpoints/{id}/rotate-secret',
      summary: 'Rotate the signing secret',
      operationId: 'rotateWebhookSecret',
      tag,
      description:
        'Makes a new signing secret and answers with it (shown only here). For 24 hours the previous secret signs too: each delivery carries both signatures, space-separated, so the receiver can switch without missing a message.',
      credentials: [...tenant],
      ...op('endpoint.rotateSecret'),
      params: byId,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'post',
      path: '/webhooks/endpoints/{id}/test',
      summary: 'Send a test event',
      operationId: 'testWebhookEndpoint',
      tag,
      description:
        'Queues a `webhook.test` event for this endpoint alone, delivered and retried like any other; answers 202 with its `messageId` (see its deliveries). A disabled endpoint is 409.',
      credentials: [...tenant],
      ...op('endpoint.test'),
      params: byId,
      status: 202,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'get',
      path: '/webhooks/endpoints/{id}/deliveries',
      summary: "An endpoint's deliveries and their attempts (?status=)",
      operationId: 'listWebhookDeliveries',
      tag,
      description:
        'Each message sent (or to be sent) to the endpoint, newest first: its status (`pending`, `delivered`, `failed` with a retry due at `nextAttemptAt`, or `exhausted`) and its last attempts with the answer code, duration, error and the first bytes of the answer.',
      credentials: [...tenant],
      ...op('delivery.list'),
      params: byId,
      query: Pagination.extend({ status: DeliveryStatus.optional() }).strict(),
      input: (r) => ({ ...r.query, ...r.params }),
    }),
    rpcRoute({
      method: 'post',
      path: '/webhooks/endpoints/{id}/deliveries/{messageId}/resend',
      summary: 'Send a message again',
      operationId: 'resendWebhookDelivery',
      tag,
      description:
        'Sends one message to the endpoint again now, with a fresh retry schedule and the same `webhook-id` (also one already delivered). 409 while an attempt is in flight.',
      credentials: [...tenant],
      ...op('delivery.resend'),
      params: z.object({ id: Id, messageId: MessageId }),
      status: 202,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'post',
      path: '/webhooks/endpoints/{id}/recover',
      summary: 'Send again everything that failed since a time (a job)',
      operationId: 'recoverWebhookDeliveries',
      tag,
      description:
        'Makes every failed or exhausted message of the endpoint created since `since` due again, with a fresh retry schedule, as a background job; answers 202. Messages older than the deliveries kept (30 days) are gone.',
      credentials: [...tenant],
      ...op('endpoint.recover'),
      params: byId,
      body: z.strictObject({ since: Timestamp }),
      status: 202,
      idempotent: true,
      input: (r) => ({ ...r.body, ...r.params }),
    }),
  ]);
  return app;
}
