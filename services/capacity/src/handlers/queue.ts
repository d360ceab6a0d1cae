import type { CapacityRpc } from '@allot/contracts';
import { AppError } from '@allot/contracts';
import { type Handlers, toPage } from '@allot/kit';
import type { Capacity } from '../context';
import { toQueueEntry } from '../store/queue';
import { cancelEntry, joinQueue, processQueue, queueStatus } from '../waitlist';

/** The waitlist. */
export const queueHandlers = (cap: Capacity) =>
  ({
    'queue.join': (input, { tenantId, actor, idempotencyKey }) => joinQueue(cap, tenantId, actor, input, idempotencyKey),
    'queue.status': (query, { tenantId }) => queueStatus(cap, tenantId, query),
    'queue.get': async ({ id }, { tenantId, actor }) => toQueueEntry(await cap.queue.visible(tenantId, id, actor)),
    'queue.cancel': ({ id }, { tenantId, actor }) => cancelEntry(cap, tenantId, actor, id),
    'queue.mine': async ({ limit, cursor, status }, { tenantId, actor }) => {
      if (actor.kind !== 'user') throw new AppError('forbidden', 'Only a user token has entries of its own');
      return toPage(await cap.queue.forUser(tenantId, actor.userId, limit + 1, cursor, status), limit, toQueueEntry);
    },
    'queue.process': async ({ sessionId, date }, { tenantId }) => {
      await cap.sessions.get(tenantId, sessionId);
      return { promoted: await processQueue(cap, tenantId, sessionId, date) };
    },
  }) satisfies Partial<Handlers<CapacityRpc>>;
