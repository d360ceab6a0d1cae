import { errorText, every } from '@allot/kit';
import type { Notifications } from '../context';
import { bulkNotification } from '../domain/messages';
import { notificationCreated, notificationDoc } from '../notify';
import type { BulkJobDoc } from '../store/bulk-jobs';
import type { BulkTenantDoc } from '../store/bulk-tenants';
import { toNotification } from '../store/notifications';

/** A tick hands out turns for at most this long, so shutdown never waits long behind a backlog. */
const TICK_MS = 1000;
/**
 * A batch that failed is tried again after these pauses in turn (the tenant's turn waits until
 * then): doubling, then every 30 s, about 2.5 minutes in all — longer than a database restart and
 * the driver's recovery from it, so an accepted send outlives one.
 */
const RETRY_MS = [1000, 2000, 4000, 8000, 15_000, 30_000, 30_000, 30_000, 30_000];
const MAX_ATTEMPTS = RETRY_MS.length + 1;

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
  await Promise.all(stored.map((doc) => ntf.publish(notificationCreated(ntf, job.tenantId, toNotification(doc)))));
  return { sent: userIds.length, failed: 0 };
}

/** What a turn did: sent a batch, found nothing to send, or failed. */
type Turn = 'sent' | 'idle' | { retryInMs: number };

/**
 * One turn of a tenant: one batch of its send that waited longest. A send that finishes (or
 * fails for good) leaves the tenant's quota.
 */
async function turn(ntf: Notifications, tenantId: string): Promise<Turn> {
  const waiting = await ntf.bulkJobs.oldestUnfinished(tenantId);
  if (!waiting) return 'idle';
  const job = await ntf.bulkJobs.start(waiting, ntf.clock.now());
  const n = job.nextBatch;
  try {
    const counts = await sendBatch(ntf, job, n);
    const after = await ntf.bulkJobs.advance(job, n, counts, ntf.clock.now());
    if (after?.status === 'completed') {
      ntf.log.info({ job: job._id, tenantId, sent: after.sent }, 'bulk send completed');
      await ntf.bulkTenants.release(tenantId, job._id);
    }
    return 'sent';
  } catch (error) {
    ntf.log.warn({ err: error, job: job._id, batch: n }, 'bulk batch failed; will retry');
    const { gaveUp, attempts } = await ntf.bulkJobs.recordFailure(job._id, errorText(error), ntf.clock.now(), MAX_ATTEMPTS);
    if (gaveUp) await ntf.bulkTenants.release(tenantId, job._id);
    return { retryInMs: RETRY_MS[Math.min(attempts, RETRY_MS.length) - 1] ?? 0 };
  }
}

/**
 * Gives back the quota of sends that finished without it being given back (a crash between the
 * two writes) or that were never written (a crash while accepting them, after the lease).
 */
async function settleQuota(ntf: Notifications, tenant: BulkTenantDoc): Promise<void> {
  const ids = Object.keys(tenant.reservations ?? {});
  if (ids.length === 0) return;
  const unfinished = await ntf.bulkJobs.unfinishedOf(tenant._id, ids);
  const stale = new Date(ntf.clock.now().getTime() - ntf.config.BULK_LEASE_MS).toISOString();
  for (const id of ids) {
    if (unfinished.has(id)) continue;
    if (!(await ntf.bulkJobs.exists(id)) && (tenant.reservations[id]?.at ?? '') > stale) continue; // still being accepted
    await ntf.bulkTenants.release(tenant._id, id);
  }
}

/**
 * The bulk-send worker: tenants take turns. Each turn sends one batch of the claiming tenant's
 * oldest unfinished send, then the tenant goes to the back of the line, so a tenant with a large
 * backlog delays another tenant's send by at most one batch per tenant waiting. Replicas share
 * the turns; a worker that dies mid-turn loses it when its lease runs out, and the batch is
 * repeated without notifying anyone twice.
 */
/**
 * Sends stored before tenants took turns have no place in their tenant's backlog, so no turn
 * would ever reach them: the first run of each process counts every unfinished send (a no-op
 * for those already counted).
 */
async function adoptUncounted(ntf: Notifications): Promise<void> {
  let after = '';
  for (;;) {
    const page = await ntf.bulkJobs.unfinishedPage(after, 500);
    for (const job of page) await ntf.bulkTenants.adopt(job.tenantId, job._id, job.total, ntf.clock.now());
    if (page.length < 500) return;
    after = page[page.length - 1]?._id ?? after;
  }
}

export const bulkSend = (ntf: Notifications) => {
  let adopted = false;
  return every(ntf.config.BULK_SWEEP_MS, 'bulk-send', async () => {
    if (!adopted) {
      await adoptUncounted(ntf);
      adopted = true;
    }
    const until = Date.now() + TICK_MS;
    while (Date.now() < until) {
      const tenant = await ntf.bulkTenants.claim(ntf.clock.now(), ntf.config.BULK_LEASE_MS);
      if (!tenant) return;
      const done = await turn(ntf, tenant._id);
      const now = ntf.clock.now();
      if (done === 'idle') await settleQuota(ntf, tenant);
      // The back of the line now; after a failure or with nothing to send yet, not before a pause.
      const pause = done === 'sent' ? 0 : done === 'idle' ? ntf.config.BULK_SWEEP_MS : done.retryInMs;
      await ntf.bulkTenants.nextTurnAt(tenant._id, new Date(now.getTime() + pause));
    }
  });
};
