import { z } from 'zod';
import { event } from '../envelope';
import { Bool, Id, Pagination, page, Timestamp, UserId } from '../primitives';
import { rpc } from '../rpc';
import { domainServices } from '../subjects';

export const Severity = z.enum(['info', 'warning', 'critical']);
export const Recipient = z.string().regex(/^(user:.+|admins)$/, 'must be user:<userId> or admins');

export const Notification = z.object({
  id: Id,
  recipient: Recipient,
  type: z.string(),
  title: z.string(),
  message: z.string(),
  severity: Severity,
  data: z.record(z.string(), z.unknown()),
  readAt: Timestamp.nullable(),
  createdAt: Timestamp,
});
export type Notification = z.infer<typeof Notification>;

export const BulkJob = z.object({
  jobId: Id,
  status: z.enum(['queued', 'running', 'completed', 'failed']),
  total: z.number().int(),
  sent: z.number().int(),
  failed: z.number().int(),
  createdAt: Timestamp,
  /** When it completed or failed; null while it is queued or running. */
  finishedAt: Timestamp.nullable(),
});
export type BulkJob = z.infer<typeof BulkJob>;

export const BulkRequest = z.strictObject({
  userIds: z.array(UserId).min(1).max(10000),
  type: z.enum(['announcement', 'reminder', 'alert']),
  title: z.string().min(1).max(200),
  message: z.string().min(1).max(5000),
  severity: Severity.optional(),
});

/**
 * A tenant's quota on bulk sends: the unfinished sends it may have queued, the recipients of
 * those sends together, and the bytes one send may store (its recipients' ids, title and message).
 * The bytes stay well below what one request may carry over NATS.
 */
export const BulkLimits = z.object({
  maxQueuedBulkSends: z.number().int().min(1).max(1000),
  maxQueuedBulkRecipients: z.number().int().min(1).max(10_000_000),
  maxBulkSendBytes: z
    .number()
    .int()
    .min(1024)
    .max(768 * 1024),
});
export type BulkLimits = z.infer<typeof BulkLimits>;
export const UpdateBulkLimits = BulkLimits.partial().strict();

export const notificationsEvents = {
  'notification.created': event('A notification was stored for a recipient', z.object({ notification: Notification })),
};

/** `GET /v1/notifications`: the caller's feed (a user's own, or the admins feed for an API key). */
export const ListNotifications = Pagination.extend({ unread: Bool.optional() }).strict();
export const NotificationPage = page(Notification).extend({ unreadCount: z.number().int().min(0) });
export const ReadAllResult = z.object({ marked: z.number().int().min(0), unreadCount: z.number().int().min(0) });

/** Dead-letter ids are `<stream>-<sequence>-<consumer>`. */
export const DeadLetterId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be a dead-letter id');

/** A message some service's consumer gave up on, as the admin API shows it (services/notifications/README.md). */
export const DeadLetterView = z.object({
  id: DeadLetterId,
  service: z.string(),
  consumer: z.string(),
  subject: z.string(),
  error: z.string(),
  deliveries: z.number().int(),
  /** How many times it was dead-lettered (more than 1 after a retry that failed again). */
  failures: z.number().int().min(1),
  firstFailedAt: Timestamp,
  lastFailedAt: Timestamp,
  status: z.enum(['dead', 'retried']),
  retriedAt: Timestamp.nullable(),
  /** The original message as it was published. */
  data: z.string(),
});
export type DeadLetterView = z.infer<typeof DeadLetterView>;

export const ListDeadLetters = Pagination.extend({ service: z.enum([...domainServices, 'gateway']).optional() }).strict();

export const notificationsRpc = {
  'notification.list': rpc(
    'List the notifications of the caller, newest first, with the exact unread count',
    ListNotifications,
    NotificationPage,
  ),
  'notification.read': rpc('Mark one notification read (idempotent)', z.strictObject({ id: Id }), Notification),
  'notification.readAll': rpc('Mark every notification of the caller feed read (idempotent)', z.strictObject({}), ReadAllResult),
  'bulk.create': rpc('Queue a bulk send to many users', BulkRequest, BulkJob),
  'bulk.get': rpc('Progress of a bulk send', z.strictObject({ jobId: Id }), BulkJob),
  'limits.get': rpc("The tenant's quota on bulk sends", z.object({}).strict(), BulkLimits),
  'limits.set': rpc("Change the tenant's quota on bulk sends", UpdateBulkLimits, BulkLimits),
  'deadLetter.list': rpc('Dead letters of every service in this tenant', ListDeadLetters, page(DeadLetterView)),
  'deadLetter.retry': rpc(
    'Hand a dead letter back to the consumer that gave up on it',
    z.strictObject({ id: DeadLetterId }),
    DeadLetterView,
  ),
  'deadLetter.delete': rpc('Delete a dead letter', z.strictObject({ id: DeadLetterId }), DeadLetterView),
};
export type NotificationsRpc = typeof notificationsRpc;
