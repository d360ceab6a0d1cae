import { notificationsRpc } from '@allot/contracts';
import { defineService } from '@allot/kit';
import { notificationsEnv } from './config';
import { notificationsContext } from './context';
import { bulkHandlers } from './handlers/bulk';
import { deadLetterHandlers, deadLetterInbox } from './handlers/dead-letters';
import { eventConsumers } from './handlers/event-consumers';
import { notificationHandlers } from './handlers/notifications';
import { bulkSend } from './jobs/bulk-send';
import { retention } from './jobs/retention';
import { bulkBatchIndexes, bulkJobIndexes } from './store/bulk-jobs';
import { bulkTenantIndexes } from './store/bulk-tenants';
import { deadLetterIndexes } from './store/dead-letters';
import { notificationIndexes } from './store/notifications';

/** The notifications service (its README.md): stored notifications from events, bulk sends, the platform's dead letters. */
export const notificationsService = defineService({
  name: 'notifications',
  env: notificationsEnv,
  indexes: {
    notifications: notificationIndexes,
    bulkJobs: bulkJobIndexes,
    bulkBatches: bulkBatchIndexes,
    bulkTenants: bulkTenantIndexes,
    deadLetters: deadLetterIndexes,
  },
  rpc: notificationsRpc,
  context: notificationsContext,
  handlers: (ntf) => ({ ...notificationHandlers(ntf), ...bulkHandlers(ntf), ...deadLetterHandlers(ntf) }),
  consumers: eventConsumers,
  deadLetters: deadLetterInbox,
  tasks: (ntf) => [bulkSend(ntf), retention(ntf)],
});

/** Starts the notifications service with this environment (tests; `main.ts` runs it as a process). */
export const startNotifications = notificationsService.start;
