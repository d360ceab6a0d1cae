import {
  AppError,
  type CreateWebhookEndpoint,
  eventCatalog,
  type UpdateWebhookEndpoint,
  type WebhookDelivery,
  type WebhookEndpoint,
} from '@allot/contracts';
import { newId } from '@allot/kit';
import type { z } from 'zod';
import type { Webhooks } from './context';
import { TEST_EVENT_TYPE, unknownTypes } from './domain/routing';
import { newSigningSecret } from './secret-box';
import { type DeliveryDoc, toDelivery } from './store/deliveries';
import { type EndpointDoc, type StoredSecret, toEndpoint } from './store/endpoints';

/** How long a replaced secret keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

/** Every event type the platform delivers (the other services' catalogued events, and the test event). */
const knownTypes = new Set([
  TEST_EVENT_TYPE,
  ...Object.entries(eventCatalog).flatMap(([source, events]) => (source === 'webhooks' ? [] : Object.keys(events))),
]);

async function checkFields(wh: Webhooks, fields: { url?: string | undefined; eventTypes?: string[] | undefined }): Promise<void> {
  if (fields.url !== undefined) {
    const problem = await wh.checkUrl(fields.url);
    if (problem) throw new AppError('invalid_webhook_url', `url ${problem}`, { errors: [{ path: 'url', message: problem }] });
  }
  const unknown = unknownTypes(fields.eventTypes ?? [], knownTypes);
  if (unknown.length) {
    throw new AppError('validation_failed', 'Unknown event types', {
      errors: unknown.map(([i, type]) => ({ path: `eventTypes.${i}`, message: `${type} is not an event type the platform publishes` })),
    });
  }
}

async function found(wh: Webhooks, tenantId: string, id: string): Promise<EndpointDoc> {
  const doc = await wh.endpoints.get(tenantId, id);
  if (!doc) throw new AppError('not_found', `No webhook endpoint ${id}`);
  return doc;
}

/** The newest secret of an endpoint, readable (only the creation's answer shows it). */
const newest = (wh: Webhooks, doc: EndpointDoc) => wh.box.open((doc.secrets[0] as StoredSecret).sealed, doc._id);

/**
 * Creates an endpoint with a new secret. A retry with the same idempotency key finds the
 * endpoint the first attempt made and answers with its secret again.
 */
export async function createEndpoint(
  wh: Webhooks,
  tenantId: string,
  input: z.output<typeof CreateWebhookEndpoint>,
  idempotencyKey?: string,
): Promise<WebhookEndpoint & { secret: string }> {
  await checkFields(wh, input);
  const id = await wh.requestIds.idFor(idempotencyKey, () => newId('whe'));
  // Every event is stored and sent once per endpoint: their number is the fan-out's bound. (A
  // retry of a creation that landed finds its endpoint below; two creations at once may pass
  // the count together, by one each.)
  const existing = await wh.endpoints.get(tenantId, id);
  if (!existing && (await wh.endpoints.countOf(tenantId)) >= wh.config.WEBHOOK_MAX_ENDPOINTS) {
    throw new AppError('quota_exceeded', `A tenant may have at most ${wh.config.WEBHOOK_MAX_ENDPOINTS} webhook endpoints`, {
      limit: 'maxWebhookEndpoints',
      maxWebhookEndpoints: wh.config.WEBHOOK_MAX_ENDPOINTS,
    });
  }
  const now = wh.clock.now();
  const at = now.toISOString();
  const secret = newSigningSecret();
  const { doc } = await wh.endpoints.insert({
    _id: id,
    tenantId,
    url: input.url,
    description: input.description ?? '',
    eventTypes: [...new Set(input.eventTypes ?? [])],
    enabled: input.enabled ?? true,
    disabledReason: null,
    secrets: [{ sealed: wh.box.seal(secret, id), addedAt: now, retiresAt: null }],
    failingSince: null,
    createdAt: at,
    updatedAt: at,
  });
  if (doc.tenantId !== tenantId) throw new AppError('conflict', 'This idempotency key made something else');
  wh.cache.forget(doc);
  return { ...toEndpoint(doc), secret: newest(wh, doc) };
}

export async function getEndpoint(wh: Webhooks, tenantId: string, id: string): Promise<WebhookEndpoint> {
  return toEndpoint(await found(wh, tenantId, id));
}

/** Changes an endpoint. Enabling it again clears why it was disabled, and its pending deliveries go out. */
export async function updateEndpoint(
  wh: Webhooks,
  tenantId: string,
  { id, ...input }: z.output<typeof UpdateWebhookEndpoint> & { id: string },
): Promise<WebhookEndpoint> {
  await checkFields(wh, input);
  const set: Partial<EndpointDoc> = { updatedAt: wh.clock.now().toISOString() };
  if (input.url !== undefined) set.url = input.url;
  if (input.description !== undefined) set.description = input.description;
  if (input.eventTypes !== undefined) set.eventTypes = [...new Set(input.eventTypes)];
  if (input.enabled !== undefined) set.enabled = input.enabled;
  if (input.enabled === true) Object.assign(set, { disabledReason: null, failingSince: null });
  const doc = await wh.endpoints.update(tenantId, id, { $set: set });
  if (!doc) throw new AppError('not_found', `No webhook endpoint ${id}`);
  wh.cache.forget(doc);
  if (doc.enabled) wh.dispatcher.wake(doc._id);
  return toEndpoint(doc);
}

/** Deletes an endpoint and its deliveries (an attempt in flight ends without being recorded). */
export async function deleteEndpoint(wh: Webhooks, tenantId: string, id: string): Promise<void> {
  const doc = await found(wh, tenantId, id);
  await wh.endpoints.delete(tenantId, id);
  wh.cache.forget(doc);
  await wh.deliveries.deleteOf(id);
}

/**
 * A new secret signs from now on; the ones before it keep signing for `ROTATION_OVERLAP_MS` (at
 * most two kept besides the new one), so receivers can switch without missing a message.
 */
export async function rotateSecret(wh: Webhooks, tenantId: string, id: string): Promise<{ secret: string }> {
  const doc = await found(wh, tenantId, id);
  const now = wh.clock.now();
  const retires = new Date(now.getTime() + ROTATION_OVERLAP_MS);
  const secret = newSigningSecret();
  const previous = doc.secrets
    .filter((s) => s.retiresAt === null || s.retiresAt > now)
    .map((s) => ({ ...s, retiresAt: s.retiresAt && s.retiresAt < retires ? s.retiresAt : retires }))
    .slice(0, 2);
  const secrets = [{ sealed: wh.box.seal(secret, id), addedAt: now, retiresAt: null }, ...previous];
  const current = (doc.secrets[0] as StoredSecret).sealed;
  // Guarded by the newest secret: of two rotations at once, one wins and the other is told.
  const updated = await wh.endpoints.update(
    tenantId,
    id,
    { $set: { secrets, updatedAt: now.toISOString() } },
    { 'secrets.0.sealed': current },
  );
  if (!updated) throw new AppError('conflict', 'The secret was rotated at the same time; try again');
  wh.cache.forget(updated);
  return { secret };
}

/** Queues a `webhook.test` event for this endpoint alone. */
export async function sendTest(wh: Webhooks, tenantId: string, id: string): Promise<{ messageId: string }> {
  const endpoint = await found(wh, tenantId, id);
  if (!endpoint.enabled) throw new AppError('invalid_state', 'The endpoint is disabled; enable it first');
  const now = wh.clock.now();
  const messageId = newId('evt');
  const envelope = {
    id: messageId,
    type: TEST_EVENT_TYPE,
    version: 1,
    tenantId,
    occurredAt: now.toISOString(),
    source: 'webhooks',
    data: { endpointId: id, message: 'A test event sent from the Allot API' },
  };
  await wh.deliveries.insert([deliveryDoc(endpoint, envelope, now)]);
  wh.dispatcher.wake(id);
  return { messageId };
}

/** A new delivery of one event to one endpoint, due now. */
export function deliveryDoc(endpoint: EndpointDoc, envelope: { id: string; type: string }, now: Date): DeliveryDoc {
  return {
    _id: `${endpoint._id}:${envelope.id}`,
    tenantId: endpoint.tenantId,
    endpointId: endpoint._id,
    messageId: envelope.id,
    eventType: envelope.type,
    body: JSON.stringify(envelope),
    status: 'pending',
    attempts: [],
    scheduleAttempts: 0,
    nextAttemptAt: now,
    leaseUntil: null,
    seq: newId('dlv'),
    createdAt: now,
  };
}

export async function listDeliveries(
  wh: Webhooks,
  tenantId: string,
  { id, limit, cursor, status }: { id: string; limit: number; cursor?: string | undefined; status?: WebhookDelivery['status'] | undefined },
) {
  await found(wh, tenantId, id);
  return wh.deliveries.list(id, limit + 1, cursor, status);
}

/** Delivers one message again now, with a fresh schedule (also one already delivered). */
export async function resend(wh: Webhooks, tenantId: string, id: string, messageId: string): Promise<WebhookDelivery> {
  await found(wh, tenantId, id);
  const doc = await wh.deliveries.resend(id, messageId, wh.clock.now());
  if (doc === null) throw new AppError('not_found', `No delivery of ${messageId} to ${id}`);
  if (doc === 'busy') throw new AppError('conflict', 'An attempt to deliver it is in flight; try again once it ends');
  wh.dispatcher.wake(id);
  return toDelivery(doc);
}

/** Schedules the recovery of every failed or exhausted delivery since `since` (a job; see `jobs/recover.ts`). */
export async function recover(wh: Webhooks, tenantId: string, id: string, since: string, idempotencyKey?: string) {
  await found(wh, tenantId, id);
  const recoveryId = await wh.requestIds.idFor(idempotencyKey, () => newId('rcv'));
  await wh.scheduleRecovery(tenantId, recoveryId, { endpointId: id, since });
  return { recoveryId, endpointId: id, since };
}
