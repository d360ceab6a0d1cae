import type { BulkLimits } from '@allot/contracts';
import { type Clock, type Logger, type Service, TenantLimits } from '@allot/kit';
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
  /** For publishing bulk sends' events and handing dead letters back. */
  service: NotificationsService;
  notifications: NotificationStore;
  bulkJobs: BulkJobStore;
  /** Each tenant's bulk backlog against its quota, and its turns at the sender. */
  bulkTenants: BulkTenantStore;
  /** Each tenant's quota on bulk sends. */
  bulkLimits: TenantLimits<BulkLimits>;
  deadLetters: DeadLetterStore;
}

/** The composition root: the stores on the service's database, the notifications wired to the outbox. */
export function notificationsContext(service: NotificationsService): Notifications {
  return {
    config: service.config,
    clock: service.clock,
    log: service.log,
    service,
    notifications: new NotificationStore(service.outboxCollection<NotificationDoc>('notifications')),
    bulkJobs: new BulkJobStore(service.db),
    bulkTenants: new BulkTenantStore(service.db),
    bulkLimits: new TenantLimits(service.db, service.clock, defaultBulkLimits),
    deadLetters: new DeadLetterStore(service.db),
  };
}
