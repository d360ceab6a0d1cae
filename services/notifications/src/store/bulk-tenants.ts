import type { BulkLimits } from '@allot/contracts';
import type { Collection, Db, IndexDescription } from 'mongodb';
import type { BulkBacklog } from '../domain/bulk-limits';

/** One send's place in its tenant's quota, from its acceptance until it completes or fails. */
interface Reservation {
  recipients: number;
  at: string;
}

/**
 * A tenant's bulk-send backlog: what it has queued (counted against its quota) and when its next
 * turn at the sender is. The sender serves tenants in turn, so one tenant's backlog never holds
 * up another's send.
 */
export interface BulkTenantDoc {
  _id: string;
  queuedSends: number;
  queuedRecipients: number;
  /** By job id: a send is counted once however often its request is retried. */
  reservations: Record<string, Reservation>;
  /** The tenant is next served by whoever claims it first once this is past; earliest first. */
  turnAt: string;
}

export const bulkTenantIndexes: IndexDescription[] = [{ key: { queuedSends: 1, turnAt: 1 } }];

export class BulkTenantStore {
  private readonly docs: Collection<BulkTenantDoc>;

  constructor(db: Db) {
    this.docs = db.collection('bulkTenants');
  }

  /**
   * Counts a new send against the tenant's quota in one guarded update, once per job id: true if
   * it fits (or was counted already, a retry), false if the quota is full.
   */
  async reserve(tenantId: string, jobId: string, recipients: number, limits: BulkLimits, now: Date): Promise<boolean> {
    const at = now.toISOString();
    await this.docs.updateOne(
      { _id: tenantId },
      { $setOnInsert: { queuedSends: 0, queuedRecipients: 0, reservations: {}, turnAt: at } },
      { upsert: true },
    );
    const counted = await this.docs.findOneAndUpdate(
      {
        _id: tenantId,
        [`reservations.${jobId}`]: { $exists: false },
        queuedSends: { $lt: limits.maxQueuedBulkSends },
        queuedRecipients: { $lte: limits.maxQueuedBulkRecipients - recipients },
      },
      { $inc: { queuedSends: 1, queuedRecipients: recipients }, $set: { [`reservations.${jobId}`]: { recipients, at } } },
    );
    if (counted) return true;
    return (await this.docs.findOne({ _id: tenantId, [`reservations.${jobId}`]: { $exists: true } })) !== null;
  }

  /** Counts a send accepted before quotas existed (so it has its tenant's turns), whatever the quota. */
  async adopt(tenantId: string, jobId: string, recipients: number, now: Date): Promise<void> {
    const unbounded = {
      maxQueuedBulkSends: Number.MAX_SAFE_INTEGER,
      maxQueuedBulkRecipients: Number.MAX_SAFE_INTEGER,
      maxBulkSendBytes: 0,
    };
    await this.reserve(tenantId, jobId, recipients, unbounded, now);
  }

  /** Takes a finished (or never written) send out of the quota, once. */
  async release(tenantId: string, jobId: string): Promise<void> {
    const doc = await this.docs.findOne({ _id: tenantId }, { projection: { [`reservations.${jobId}`]: 1 } });
    const reservation = doc?.reservations?.[jobId];
    if (!reservation) return;
    await this.docs.updateOne(
      { _id: tenantId, [`reservations.${jobId}`]: { $exists: true } },
      { $inc: { queuedSends: -1, queuedRecipients: -reservation.recipients }, $unset: { [`reservations.${jobId}`]: '' } },
    );
  }

  async backlog(tenantId: string): Promise<BulkBacklog> {
    const doc = await this.docs.findOne({ _id: tenantId }, { projection: { queuedSends: 1, queuedRecipients: 1 } });
    return { sends: doc?.queuedSends ?? 0, recipients: doc?.queuedRecipients ?? 0 };
  }

  /**
   * Atomically takes the turn of the tenant with queued sends that waited longest, for `leaseMs`
   * (a worker that dies mid-turn gives it up when that runs out). A read finds that tenant first
   * and only then the guarded update takes it: every replica asks several times a second, and
   * an update that finds nothing still waits its turn among the database's writes (on FerretDB,
   * behind every notification being stored) — a read does not.
   */
  async claim(now: Date, leaseMs: number): Promise<BulkTenantDoc | null> {
    const due = { queuedSends: { $gt: 0 }, turnAt: { $lte: now.toISOString() } };
    for (let attempt = 0; attempt < 3; attempt++) {
      const next = await this.docs.findOne(due, { sort: { turnAt: 1 }, projection: { _id: 1 } });
      if (!next) return null;
      const claimed = await this.docs.findOneAndUpdate(
        { _id: next._id, ...due },
        { $set: { turnAt: new Date(now.getTime() + leaseMs).toISOString() } },
        { returnDocument: 'after' },
      );
      // Another worker took that turn between the read and the update: look again.
      if (claimed) return claimed;
    }
    return null;
  }

  /** Ends a turn: the tenant's next one comes at `at` — after every tenant already waiting when that is now. */
  async nextTurnAt(tenantId: string, at: Date): Promise<void> {
    await this.docs.updateOne({ _id: tenantId }, { $set: { turnAt: at.toISOString() } });
  }
}
