import { BulkRequest, DeadLetterId, Id, ListDeadLetters, ListNotifications, type NotificationsRpc, notificationsRpc } from '@allot/contracts';
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
      credentials: [...anyone],
      ...op('notification.list'),
      query: ListNotifications,
      input: (r) => r.query,
    }),
    rpcRoute({
      method: 'post',
      path: '/notifications/read-all',
      summary: 'Mark every notification of your feed read',
      credentials: [...anyone],
      ...op('notification.readAll'),
      input: () => ({}),
    }),
    rpcRoute({
      method: 'post',
      path: '/notifications/{id}/read',
      summary: 'Mark a notification read',
      credentials: [...anyone],
      ...op('notification.read'),
      params: z.object({ id: Id }),
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'post',
      path: '/notifications/bulk',
      summary: 'Send a notification to many users (a durable job)',
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
      credentials: [...tenant],
      ...op('bulk.get'),
      params: z.object({ jobId: Id }),
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'get',
      path: '/admin/dead-letters',
      summary: 'Messages any service gave up on (?service=)',
      credentials: [...tenant],
      ...op('deadLetter.list'),
      query: ListDeadLetters,
      input: (r) => r.query,
    }),
    rpcRoute({
      method: 'post',
      path: '/admin/dead-letters/{id}/retry',
      summary: 'Hand a dead letter back to the consumer that gave up on it',
      credentials: [...tenant],
      ...op('deadLetter.retry'),
      params: deadLetterById,
      input: (r) => r.params,
    }),
    rpcRoute({
      method: 'delete',
      path: '/admin/dead-letters/{id}',
      summary: 'Delete a dead letter',
      credentials: [...tenant],
      ...op('deadLetter.delete'),
      params: deadLetterById,
      input: (r) => r.params,
    }),
  ]);
  return app;
}
