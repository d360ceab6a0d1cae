import { AppError, type NotificationsRpc } from '@allot/contracts';
import { type DeadLetterSubscription, type Handlers, toPage } from '@allot/kit';
import type { Notifications } from '../context';
import { toDeadLetterView } from '../store/dead-letters';

/** Every service's dead letters land on one stream; this keeps them per tenant for the admin API. */
export const deadLetterInbox = (ntf: Notifications): DeadLetterSubscription => ({
  durable: 'notifications-dead-letters',
  handler: async (record, seq) => {
    // A message of no tenant (a platform job) has no tenant admin to show it to.
    if (record.tenantId) await ntf.deadLetters.record({ ...record, tenantId: record.tenantId }, seq);
  },
});

/** `/v1/admin/dead-letters`: list, retry, delete — every service's, of the caller's tenant only. */
export const deadLetterHandlers = (ntf: Notifications) =>
  ({
    'deadLetter.list': async ({ limit, cursor, service }, { tenantId }) =>
      toPage(await ntf.deadLetters.list(tenantId, limit + 1, cursor, service), limit, toDeadLetterView),
    'deadLetter.retry': async ({ id }, { tenantId }) => {
      const now = ntf.clock.now().toISOString();
      const doc = await ntf.deadLetters.markRetried(tenantId, id, now);
      if (!doc) {
        if (await ntf.deadLetters.find(tenantId, id)) throw new AppError('invalid_state', 'This dead letter was already retried');
        throw new AppError('not_found', 'Dead letter not found');
      }
      try {
        await ntf.letters.redeliver(doc.record, now);
      } catch (error) {
        await ntf.deadLetters.markDead(id);
        throw new AppError('upstream_unavailable', `The retry could not be published: ${(error as Error).message}`);
      }
      return toDeadLetterView(doc);
    },
    'deadLetter.delete': async ({ id }, { tenantId }) => {
      const doc = await ntf.deadLetters.delete(tenantId, id);
      if (!doc) throw new AppError('not_found', 'Dead letter not found');
      for (const seq of doc.streamSeqs) await ntf.letters.remove(seq);
      return toDeadLetterView(doc);
    },
  }) satisfies Partial<Handlers<NotificationsRpc>>;
