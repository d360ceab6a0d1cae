import { AppError, type NotificationRpc } from '@allot/contracts';
import { type Handlers, newId } from '@allot/kit';
import type { Notifications } from '../context';
import { type BulkJobDoc, toBulkJob } from '../store/bulk-jobs';

/** Bulk sends (SPEC §7): accepted as a durable job that the bulk-send task works through in batches. */
export const bulkHandlers = (ntf: Notifications) =>
  ({
    'bulk.create': async ({ userIds, type, title, message, severity }, { tenantId }) => {
      // A user listed twice is notified once.
      const recipients = [...new Set(userIds)];
      const size = ntf.config.BULK_BATCH_SIZE;
      const batches = Array.from({ length: Math.ceil(recipients.length / size) }, (_, n) => recipients.slice(n * size, (n + 1) * size));
      const now = ntf.clock.now().toISOString();
      const job: BulkJobDoc = {
        _id: newId('job'),
        tenantId,
        status: 'queued',
        total: recipients.length,
        sent: 0,
        failed: 0,
        type,
        title,
        message,
        ...(severity ? { severity } : {}),
        batches: batches.length,
        nextBatch: 0,
        leaseUntil: now,
        attempts: 0,
        error: null,
        createdAt: now,
        updatedAt: now,
      };
      await ntf.bulkJobs.create(job, batches);
      return toBulkJob(job);
    },
    'bulk.get': async ({ jobId }, { tenantId }) => {
      const job = await ntf.bulkJobs.get(tenantId, jobId);
      if (!job) throw new AppError('not_found', 'Bulk job not found');
      return toBulkJob(job);
    },
  }) satisfies Partial<Handlers<NotificationRpc>>;
