import { z } from 'zod';
import { event } from '../envelope';
import { Id, Timestamp, UserId } from '../primitives';

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
});
export type BulkJob = z.infer<typeof BulkJob>;

export const BulkRequest = z.strictObject({
  userIds: z.array(UserId).min(1).max(10000),
  type: z.enum(['announcement', 'reminder', 'alert']),
  title: z.string().min(1).max(200),
  message: z.string().min(1).max(5000),
  severity: Severity.optional(),
});

export const notificationEvents = {
  'notification.created': event('A notification was stored for a recipient', z.object({ notification: Notification })),
};
