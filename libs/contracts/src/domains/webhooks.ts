import { z } from 'zod';
import { event } from '../envelope';
import { Bool, Id, Pagination, page, Timestamp } from '../primitives';
import { rpc } from '../rpc';

/** An event type an endpoint may ask for (`<aggregate>.<verb>`, as in the envelope's `type`). */
export const WebhookEventType = z
  .string()
  .min(3)
  .max(100)
  .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must be an event type such as booking.confirmed');

/** Where deliveries go; whether it is allowed (https, a public address) is decided by the service. */
export const WebhookUrl = z.string().min(1).max(2000).url('must be a URL');

/** A tenant's webhook endpoint as every answer shows it (never its secret). */
export const WebhookEndpoint = z.object({
  id: Id,
  url: z.string(),
  description: z.string(),
  /** The event types delivered; empty: every type. */
  eventTypes: z.array(z.string()),
  enabled: z.boolean(),
  /** Why the platform disabled it (`gone`: it answered 410; `failing`: every attempt failed for too long); null otherwise. */
  disabledReason: z.enum(['gone', 'failing']).nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

/** A signing secret: `whsec_` and base64 of 32 random bytes (Standard Webhooks' form). */
export const WebhookSecret = z.object({ secret: z.string().startsWith('whsec_') });

/** The answer to creating an endpoint: the only one that shows its secret. */
export const CreatedWebhookEndpoint = WebhookEndpoint.extend(WebhookSecret.shape);

export const CreateWebhookEndpoint = z.strictObject({
  url: WebhookUrl,
  description: z.string().max(500).optional(),
  eventTypes: z.array(WebhookEventType).max(100).optional(),
  enabled: z.boolean().optional(),
});

export const UpdateWebhookEndpoint = z.strictObject({
  url: WebhookUrl.optional(),
  description: z.string().max(500).optional(),
  eventTypes: z.array(WebhookEventType).max(100).optional(),
  enabled: z.boolean().optional(),
});

const EndpointRef = z.strictObject({ id: Id });

export const DeliveryStatus = z.enum(['pending', 'delivered', 'failed', 'exhausted']);

/** One attempt to deliver a message: when, the answer's status (null without one), how long it took, and what went wrong. */
export const DeliveryAttempt = z.object({
  at: Timestamp,
  statusCode: z.number().int().nullable(),
  durationMs: z.number().int().min(0),
  error: z.string().nullable(),
  /** The first bytes of the answer's body (at most 256; never the whole body). */
  response: z.string().nullable(),
});
export type DeliveryAttempt = z.infer<typeof DeliveryAttempt>;

/** One event's delivery to one endpoint, with its latest attempts (the last 20). */
export const WebhookDelivery = z.object({
  messageId: z.string(),
  eventType: z.string(),
  status: DeliveryStatus,
  attempts: z.array(DeliveryAttempt),
  /** When it is tried next; null once delivered or exhausted. */
  nextAttemptAt: Timestamp.nullable(),
  createdAt: Timestamp,
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const ListWebhookDeliveries = Pagination.extend({ id: Id, status: DeliveryStatus.optional() }).strict();
export const ListWebhookEndpoints = Pagination.extend({ enabled: Bool.optional() }).strict();

export const WebhookRecovery = z.object({
  recoveryId: Id,
  endpointId: Id,
  since: Timestamp,
});

export const webhooksEvents = {
  'endpoint.disabled': event(
    'A webhook endpoint was disabled by the platform: it answered 410 Gone, or every attempt failed for too long',
    z.object({ endpoint: WebhookEndpoint }),
  ),
};

export const webhooksRpc = {
  'endpoint.create': rpc(
    'Create a webhook endpoint; the answer shows its signing secret, once',
    CreateWebhookEndpoint,
    CreatedWebhookEndpoint,
  ),
  'endpoint.list': rpc("The tenant's webhook endpoints, oldest first", ListWebhookEndpoints, page(WebhookEndpoint)),
  'endpoint.get': rpc('One webhook endpoint', EndpointRef, WebhookEndpoint),
  'endpoint.update': rpc('Change a webhook endpoint', UpdateWebhookEndpoint.extend({ id: Id }), WebhookEndpoint),
  'endpoint.delete': rpc('Delete a webhook endpoint and its deliveries', EndpointRef, z.object({ deleted: z.literal(true) })),
  'endpoint.rotateSecret': rpc('A new signing secret; the previous one keeps signing for 24 hours', EndpointRef, WebhookSecret),
  'endpoint.test': rpc('Deliver a webhook.test event to the endpoint', EndpointRef, z.object({ messageId: z.string() })),
  'endpoint.recover': rpc(
    'Deliver again every failed or exhausted message since a time (a job)',
    z.strictObject({ id: Id, since: Timestamp }),
    WebhookRecovery,
  ),
  'delivery.list': rpc("An endpoint's deliveries, newest first (?status=)", ListWebhookDeliveries, page(WebhookDelivery)),
  'delivery.resend': rpc(
    'Deliver one message to the endpoint again, with a fresh retry schedule',
    z.strictObject({ id: Id, messageId: z.string().min(1).max(200) }),
    WebhookDelivery,
  ),
};
export type WebhooksRpc = typeof webhooksRpc;
