import {
  BulkRequest,
  DeadLetterId,
  Id,
  ListDeadLetters,
  ListNotifications,
  type NotificationsRpc,
  notificationsRpc,
} from '@allot/contracts';
import { z } from '@hono/zod-openapi';
import type { GatewayDeps } from '../deps';
import { router } from '../http/openapi';
import { registerRpcRoutes, rpcRoute } from '../http/rpc-route';

const tenant = ['apiKey'] as const;
const anyone = ['apiKey', 'user'] as const;
const service = 'notifications' as const;
const op = <K extends keyof NotificationsRpc>(operation: K) => ({ service, operation, contract: notificationsRpc[operation] });
const deadLetterById = z.object({ id: DeadLetterId });

/** The caller's notifications, bulk sends, and the platform's dead letters (admin). */
export function notificationRoutes(deps: GatewayDeps) {
  const app = router();
  registerRpcRoutes(app, deps, [
    rpcRoute({
      method: 'get',
      path: '/notifications',
      summary: 'Your notifications (a user token: its own; an API key: the admins feed), newest first',
      operationId: 'listNotifications',
      tag: 'Notifications',
      description:
        "The caller's notifications, newest first, a page at a time, with the unread count: a user token's own, or for an API key the tenant admins' feed. `unread=true` keeps the unread ones.",
      credentials: [...anyone],
      ...op('notification.list'),
      query: ListNotifications,
      input: (r) => r.query,
    }),
    rpcRoute({
      method: 'post',
      path: '/notifications/read-all',
      summary: 'Mark every notification of your feed read',
      operationId: 'markAllNotificationsRead',
      tag: 'Notifications',
      description: "Marks every notification of the caller's feed read.",
      credentials: [...anyone],
      ...op('notification.readAll'),
      input: () => ({}),
    }),
    rpcRoute({
      method: 'post',
      path: '/notifications/{id}/read',
      summary: 'Mark a notification read',
      operationId: 'markNotificationRead',
      tag: 'Notifications',
      description: "Marks one notification of the caller's feed read; marking it again changes nothing.",
      credentials: [...anyone],
      ...op('notification.read'),
      params: z.object({ id: Id }),
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'post',
      path: '/notifications/bulk',
      summary: 'Send a notification to many users (a durable job)',
      operationId: 'createBulkSend',
      tag: 'Bulk sends',
      description:
        "Accepts one notification for many users as a durable job and answers 202 with its progress; it is sent in batches, taking turns with other tenants. Over `maxBulkSendBytes` is 400; past the tenant's quota of queued sends is 429 `quota_exceeded`. Send an `Idempotency-Key`: a retry returns the same job, sent once.",
      credentials: [...tenant],
      ...op('bulk.create'),
      body: BulkRequest,
      status: 202,
      idempotent: true,
      input: (r) => r.body,
    }),
    rpcRoute({
      method: 'get',
      path: '/notifications/bulk/{jobId}',
      summary: 'Progress of a bulk send',
      operationId: 'getBulkSend',
      tag: 'Bulk sends',
      description: "A bulk send's status and progress: how many recipients were sent, how many failed, and when it finished.",
      credentials: [...tenant],
      ...op('bulk.get'),
      params: z.object({ jobId: Id }),
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'get',
      path: '/admin/dead-letters',
      summary: 'Messages any service gave up on (?service=)',
      operationId: 'listDeadLetters',
      tag: 'Dead letters',
      description:
        "Messages of this tenant that a service's consumer gave up on after its retries, a page at a time; `service=` keeps one service's.",
      credentials: [...tenant],
      ...op('deadLetter.list'),
      query: ListDeadLetters,
      input: (r) => r.query,
    }),
    rpcRoute({
      method: 'post',
      path: '/admin/dead-letters/{id}/retry',
      summary: 'Hand a dead letter back to the consumer that gave up on it',
      operationId: 'retryDeadLetter',
      tag: 'Dead letters',
      description: 'Hands a dead letter back to the consumer that gave up on it, to be handled again.',
      credentials: [...tenant],
      ...op('deadLetter.retry'),
      params: deadLetterById,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'delete',
      path: '/admin/dead-letters/{id}',
      summary: 'Delete a dead letter',
      operationId: 'deleteDeadLetter',
      tag: 'Dead letters',
      description: 'Deletes a dead letter without handling it.',
      credentials: [...tenant],
      ...op('deadLetter.delete'),
      params: deadLetterById,
      input: (r) => r.params,
    }),
  ]);
  return app;
}
