import { AppError, type NotificationsRpc } from '@allot/contracts';
import { type Handlers, newId } from '@allot/kit';
import type { Notifications } from '../context';
import { bulkSendBytes, checkSendBytes, quotaExceeded } from '../domain/bulk-limits';
import { type BulkJobDoc, toBulkJob } from '../store/bulk-jobs';

/**
 * Bulk sends: accepted as a durable job that the bulk-send task works through in batches, within
 * the tenant's quota; and the tenant's quota itself.
 */
export const bulkHandlers = (ntf: Notifications) =>
  ({
    'bulk.create': async ({ userIds, type, title, message, severity }, { tenantId, idempotencyKey }) => {
      // A user listed twice is notified once.
      const recipients = [...new Set(userIds)];
      const limits = await ntf.bulkLimits.get(tenantId);
      checkSendBytes(limits, bulkSendBytes(recipients, title, message));
      // A retry of the same request (the gateway passes its Idempotency-Key) gets the first attempt's job id.
      const jobId = await ntf.requestIds.idFor(idempotencyKey, () => newId('job'));
      const made = await ntf.bulkJobs.get(tenantId, jobId);
      if (made) return toBulkJob(made);

      const now = ntf.clock.now();
      if (!(await ntf.bulkTenants.reserve(tenantId, jobId, recipients.length, limits, now))) {
        throw quotaExceeded(limits, await ntf.bulkTenants.backlog(tenantId), recipients.length);
      }
      const size = ntf.config.BULK_BATCH_SIZE;
      const batches = Array.from({ length: Math.ceil(recipients.length / size) }, (_, n) => recipients.slice(n * size, (n + 1) * size));
      const at = now.toISOString();
      const job: BulkJobDoc = {
        _id: jobId,
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
        attempts: 0,
        error: null,
        createdAt: at,
        updatedAt: at,
        finishedAt: null,
      };
      try {
        await ntf.bulkJobs.create(job, batches);
      } catch (error) {
        // Nothing will send it: give its place in the quota back (a retry reserves it again).
        if (!(await ntf.bulkJobs.exists(jobId))) await ntf.bulkTenants.release(tenantId, jobId);
        throw error;
      }
      return toBulkJob((await ntf.bulkJobs.get(tenantId, jobId)) ?? job);
    },
    'bulk.get': async ({ jobId }, { tenantId }) => {
      const job = await ntf.bulkJobs.get(tenantId, jobId);
      if (!job) throw new AppError('not_found', 'Bulk job not found');
      return toBulkJob(job);
    },
    'limits.get': (_input, { tenantId }) => ntf.bulkLimits.get(tenantId),
    'limits.set': async (patch, { tenantId, actor }) => {
      if (actor.kind !== 'apiKey') throw new AppError('forbidden', 'Only an API key may change the limits');
      const limits = await ntf.bulkLimits.set(tenantId, patch);
      ntf.log.info({ limits }, 'bulk limits changed');
      return limits;
    },
  }) satisfies Partial<Handlers<NotificationsRpc>>;
