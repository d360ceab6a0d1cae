import type { WebhooksRpc } from '@allot/contracts';
import type { Handlers } from '@allot/kit';
import { toPage } from '@allot/kit';
import type { Webhooks } from '../context';
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listDeliveries,
  recover,
  resend,
  rotateSecret,
  sendTest,
  updateEndpoint,
} from '../endpoints';
import { toDelivery } from '../store/deliveries';
import { toEndpoint } from '../store/endpoints';

/** The webhooks operations: thin, each a use case of `endpoints.ts`. */
export const webhookHandlers = (wh: Webhooks): Handlers<WebhooksRpc> => ({
  'endpoint.create': (input, { tenantId, idempotencyKey }) => createEndpoint(wh, tenantId, input, idempotencyKey),
  'endpoint.list': async ({ limit, cursor, enabled }, { tenantId }) =>
    toPage(await wh.endpoints.list(tenantId, limit + 1, cursor, enabled), limit, toEndpoint),
  'endpoint.get': ({ id }, { tenantId }) => getEndpoint(wh, tenantId, id),
  'endpoint.update': (input, { tenantId }) => updateEndpoint(wh, tenantId, input),
  'endpoint.delete': async ({ id }, { tenantId }) => {
    await deleteEndpoint(wh, tenantId, id);
    return { deleted: true as const };
  },
  'endpoint.rotateSecret': ({ id }, { tenantId }) => rotateSecret(wh, tenantId, id),
  'endpoint.test': ({ id }, { tenantId }) => sendTest(wh, tenantId, id),
  'endpoint.recover': ({ id, since }, { tenantId, idempotencyKey }) => recover(wh, tenantId, id, since, idempotencyKey),
  'delivery.list': async (input, { tenantId }) =>
    toPage(await listDeliveries(wh, tenantId, input), input.limit, toDelivery, { cursorOf: (doc) => doc.seq }),
  'delivery.resend': ({ id, messageId }, { tenantId }) => resend(wh, tenantId, id, messageId),
});
