import type { BulkLimits, EventEnvelope } from '@allot/contracts';
import { type Clock, type DeadLetter, type Logger, redeliver, removeDeadLetter, type Service, TenantLimits } from '@allot/kit';
import type { NotificationsConfig } from './config';
import { defaultBulkLimits } from './domain/bulk-limits';
import { BulkJobStore } from './store/bulk-jobs';
import { BulkTenantStore } from './store/bulk-tenants';
import { DeadLetterStore } from './store/dead-letters';
import { type NotificationDoc, NotificationStore } from './store/notifications';

export type NotificationsService = Service<NotificationsConfig, 'notifications'>;

/** What the notifications handlers, consumers and tasks work with. */
export interface Notifications {
  config: NotificationsConfig;
  clock: Clock;
  log: Logger;
  /** Makes one of the notifications events of the contracts' catalog. */
  event: NotificationsService['event'];
  /** Publishes an event at once (what a consumer or a bulk batch stored is announced by it, not by an outbox). */
  publish(envelope: EventEnvelope): Promise<void>;
  /** Ids of what keyed (idempotent) requests create. */
  requestIds: NotificationsService['requestIds'];
  /** The platform's dead-letter stream: a letter handed back to its consumer (as attempt `at`), or removed. */
  letters: { redeliver(record: DeadLetter, at: string): Promise<void>; remove(seq: number): Promise<void> };
  notifications: NotificationStore;
  bulkJobs: BulkJobStore;
  /** Each tenant's bulk backlog against its quota, and its turns at the sender. */
  bulkTenants: BulkTenantStore;
  /** Each tenant's quota on bulk sends. */
  bulkLimits: TenantLimits<BulkLimits>;
  deadLetters: DeadLetterStore;
}

/** The composition root: the stores on the service's database. */
export function notificationsContext(service: NotificationsService): Notifications {
  return {
    config: service.config,
    clock: service.clock,
    log: service.log,
    event: (tenantId, type, data) => service.event(tenantId, type, data),
    publish: (envelope) => service.events.publish(envelope),
    requestIds: service.requestIds,
    letters: {
      redeliver: (record, at) => redeliver(service.js, record, at),
      remove: (seq) => removeDeadLetter(service.jsm, seq),
    },
    notifications: new NotificationStore(service.db.collection<NotificationDoc>('notifications')),
    bulkJobs: new BulkJobStore(service.db),
    bulkTenants: new BulkTenantStore(service.db),
    bulkLimits: new TenantLimits(service.db, service.clock, defaultBulkLimits),
    deadLetters: new DeadLetterStore(service.db),
  };
}
