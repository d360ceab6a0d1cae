import { errorText, every } from '@allot/kit';
import type { Notifications } from '../context';
import { bulkNotification } from '../domain/messages';
import { notificationCreated, notificationDoc } from '../notify';
import type { BulkJobDoc } from '../store/bulk-jobs';
import { toNotification } from '../store/notifications';

/** A run works on one job at most this long, then hands it back, so other tenants' jobs and shutdown never wait long. */
const SLICE_MS = 2000;
const MAX_ATTEMPTS = 5;

/**
 * Sends one batch: one bulk insert (recipients this job already notified are skipped by the
 * unique index), then the events announcing what is stored. If the batch is being repeated
 * after a crash, the existing notifications are announced again too — their event ids are
 * derived from the notification ids, so JetStream drops what was already published.
 */
async function sendBatch(ntf: Notifications, job: BulkJobDoc, n: number): Promise<{ sent: number; failed: number }> {
  const userIds = await ntf.bulkJobs.recipients(job._id, n);
  const source = `bulk:${job._id}`;
  const docs = userIds.map((userId) => notificationDoc(ntf, job.tenantId, source, bulkNotification(userId, job, job._id)));
  const { existing } = await ntf.notifications.insertMany(docs);
  const stored = existing
    ? await ntf.notifications.bySource(
        job.tenantId,
        source,
        docs.map((d) => d.recipient),
      )
    : docs;
  await Promise.all(stored.map((doc) => ntf.service.events.publish(notificationCreated(ntf, job.tenantId, toNotification(doc)))));
  return { sent: userIds.length, failed: 0 };
}

/** Works on one claimed job until it is done or its time slice is used up. */
async function work(ntf: Notifications, claimed: BulkJobDoc): Promise<void> {
  const started = Date.now();
  let job: BulkJobDoc | null = claimed;
  while (job && job.status === 'running' && job.nextBatch < job.batches) {
    if (Date.now() - started > SLICE_MS) return ntf.bulkJobs.release(job._id, ntf.clock.now());
    const current = job;
    const n = current.nextBatch;
    try {
      const counts = await sendBatch(ntf, current, n);
      job = await ntf.bulkJobs.advance(current, n, counts, ntf.clock.now(), ntf.config.BULK_LEASE_MS);
    } catch (error) {
      ntf.log.warn({ err: error, job: current._id, batch: n }, 'bulk batch failed; will retry');
      return ntf.bulkJobs.recordFailure(current._id, errorText(error), ntf.clock.now(), MAX_ATTEMPTS);
    }
  }
  if (job?.status === 'completed') ntf.log.info({ job: job._id, tenantId: job.tenantId, sent: job.sent }, 'bulk send completed');
}

/**
 * The bulk-send worker: claims the unfinished job that waited longest (queued, handed back, or
 * left by a process that died — its lease ran out) and works on it. Replicas share the jobs.
 */
export const bulkSend = (ntf: Notifications) =>
  every(ntf.config.BULK_SWEEP_MS, 'bulk-send', async () => {
    const job = await ntf.bulkJobs.claim(ntf.clock.now(), ntf.config.BULK_LEASE_MS);
    if (job) await work(ntf, job);
  });
