import { type DeliveryAttempt, DeliveryStatus, type WebhookDelivery } from '@allot/contracts';
import { bulkWriteInParts, GroupCommit, insertNew } from '@allot/kit';
import type { AnyBulkWriteOperation, Collection, Db, Filter, IndexDescription } from 'mongodb';

type Status = WebhookDelivery['status'];

/** One event for one endpoint: `_id` is `<endpointId>:<eventId>`, so an event redelivered by the stream is stored once. */
export interface DeliveryDoc {
  _id: string;
  tenantId: string;
  endpointId: string;
  messageId: string;
  eventType: string;
  /** The envelope as it is sent (JSON text); what the signature covers. */
  body: string;
  status: Status;
  /** The last 20 attempts, oldest first. */
  attempts: DeliveryAttempt[];
  /** Attempts since the schedule last started (a resend or a recovery starts it again). */
  scheduleAttempts: number;
  /** When it is due; null once delivered or exhausted (nothing left to do). */
  nextAttemptAt: Date | null;
  /** While an attempt is in flight, until when it is that process's (a crashed process's lease runs out). */
  leaseUntil: Date | null;
  /** Which claim took it last (`claim`), to tell the deliveries one claim took from those others did. */
  claim?: string;
  /** Sorts by creation: the list's order and cursor. */
  seq: string;
  createdAt: Date;
}

export const KEPT_ATTEMPTS = 20;

/**
 * Due deliveries of an endpoint, due ones of all (the poll), an endpoint's list (by status or
 * all, see `list`), old finished ones (the purge). Every write of a delivery updates each index.
 */
export const deliveryIndexes: IndexDescription[] = [
  { key: { endpointId: 1, nextAttemptAt: 1 } },
  { key: { nextAttemptAt: 1 } },
  { key: { endpointId: 1, status: 1, seq: -1 } },
  { key: { createdAt: 1 } },
];

export function toDelivery(doc: DeliveryDoc): WebhookDelivery {
  return {
    messageId: doc.messageId,
    eventType: doc.eventType,
    status: doc.status,
    attempts: doc.attempts,
    nextAttemptAt: doc.nextAttemptAt?.toISOString() ?? null,
    createdAt: doc.createdAt.toISOString(),
  };
}

/** Not leased, or its lease ran out. */
const free = (now: Date): Filter<DeliveryDoc> => ({ $or: [{ leaseUntil: null }, { leaseUntil: { $lte: now } }] });

/** The deliveries of every endpoint and the guarded writes that move them through their states. */
export class DeliveryStore {
  readonly docs: Collection<DeliveryDoc>;
  /**
   * Inserts and settles are written together with those that arrive while a batch is written
   * (one command each, settles in parts: FerretDB never answers an update of 100 statements).
   */
  private readonly inserts = new GroupCommit<DeliveryDoc, boolean>(async (_key, docs) => {
    const stored = await insertNew(this.docs, docs);
    return docs.map((_, i) => !stored.has(i));
  });
  private readonly settles = new GroupCommit<AnyBulkWriteOperation<DeliveryDoc>, void>(async (_key, ops) => {
    await bulkWriteInParts(this.docs, ops);
    return ops.map(() => undefined);
  });

  constructor(db: Db) {
    this.docs = db.collection<DeliveryDoc>('deliveries');
  }

  /**
   * Stores new deliveries; those stored before (the same event again) are left as they are.
   * Resolves with whether each one was stored now.
   */
  insert(docs: DeliveryDoc[]): Promise<boolean[]> {
    return Promise.all(docs.map((doc) => this.inserts.submit('insert', doc)));
  }

  get(endpointId: string, messageId: string): Promise<DeliveryDoc | null> {
    return this.docs.findOne({ _id: `${endpointId}:${messageId}` });
  }

  list(endpointId: string, limit: number, before?: string, status?: Status): Promise<DeliveryDoc[]> {
    // Every status named when none is asked for: MongoDB serves the list from the status index as
    // well (one scan per status, merged by `seq`), so no index of its own costs every write.
    const query: Filter<DeliveryDoc> = { endpointId, status: status ?? { $in: DeliveryStatus.options } };
    if (before) query.seq = { $lt: before };
    return this.docs.find(query).sort({ seq: -1 }).limit(limit).toArray();
  }

  /** An endpoint's deliveries that are due and that no attempt holds, soonest first. */
  due(endpointId: string, now: Date, limit: number, skip: readonly string[]): Promise<DeliveryDoc[]> {
    return this.docs
      .find({ endpointId, nextAttemptAt: { $lte: now }, _id: { $nin: [...skip] }, ...free(now) })
      .sort({ nextAttemptAt: 1 })
      .limit(limit)
      .toArray();
  }

  /** The endpoints that have deliveries due and free (any process may take them). */
  async endpointsWithDue(now: Date): Promise<string[]> {
    return (await this.docs.distinct('endpointId', { nextAttemptAt: { $lte: now }, ...free(now) })) as string[];
  }

  /**
   * Takes due deliveries for attempts, until `leaseUntil`, with guarded writes sent together;
   * returns those taken (another process may have taken some, or they changed), each read back by
   * its `_id`. `mark` names this claim. Each delivery is named by its own `_id`: FerretDB reads the
   * whole collection for `_id: {$in: …}`, and did so twice per claim.
   */
  async claim(docs: DeliveryDoc[], now: Date, leaseUntil: Date, mark: string): Promise<DeliveryDoc[]> {
    if (docs.length === 0) return [];
    await bulkWriteInParts(
      this.docs,
      docs.map(({ _id }) => ({
        updateOne: { filter: { _id, nextAttemptAt: { $lte: now }, ...free(now) }, update: { $set: { leaseUntil, claim: mark } } },
      })),
    );
    const read = await Promise.all(docs.map(({ _id }) => this.docs.findOne({ _id, claim: mark })));
    return read.filter((doc) => doc !== null);
  }

  /**
   * Records an attempt and what follows from it, if the attempt still holds its lease (else
   * another process took the delivery over, and its own attempt records itself).
   */
  async settle(
    doc: DeliveryDoc,
    lease: Date,
    attempt: DeliveryAttempt,
    next: { status: Status; nextAttemptAt: Date | null; scheduleAttempts: number },
  ): Promise<void> {
    const attempts = [...doc.attempts, attempt].slice(-KEPT_ATTEMPTS);
    await this.settles.submit('settle', {
      updateOne: { filter: { _id: doc._id, leaseUntil: lease }, update: { $set: { ...next, attempts, leaseUntil: null } } },
    });
  }

  /**
   * Hands back every delivery a stopping process still holds unattempted (its claims are all
   * named `<mark>-…`), so the next process need not wait for their leases to run out.
   */
  async releaseHeld(mark: string, now: Date): Promise<void> {
    await this.docs.updateMany({ claim: { $regex: `^${mark}-` }, leaseUntil: { $gt: now } }, { $set: { leaseUntil: null } });
  }

  /**
   * Extends a lease this process holds (`lease`) to `until`; false if it no longer holds it. The
   * write is guarded by the lease itself, so only its holder can extend it.
   */
  renew(doc: DeliveryDoc, lease: Date, until: Date): Promise<boolean> {
    return this.moveLease(doc, lease, until);
  }

  /** Hands a delivery back unattempted (the process is stopping): due again for whoever runs next. */
  async release(doc: DeliveryDoc, lease: Date): Promise<void> {
    await this.moveLease(doc, lease, null);
  }

  /** Sets a held delivery's lease end, only while `lease` still holds it; true if it did. */
  private async moveLease(doc: DeliveryDoc, lease: Date, until: Date | null): Promise<boolean> {
    const result = await this.docs.updateOne({ _id: doc._id, leaseUntil: lease }, { $set: { leaseUntil: until } });
    return result.modifiedCount === 1;
  }

  /**
   * Makes a delivery due now with a fresh schedule (a resend); null if it is unknown, or in
   * flight (`busy`), since the attempt under way records its own outcome.
   */
  async resend(endpointId: string, messageId: string, now: Date): Promise<DeliveryDoc | 'busy' | null> {
    const _id = `${endpointId}:${messageId}`;
    const updated = await this.docs.findOneAndUpdate(
      { _id, ...free(now) },
      { $set: { status: 'pending', nextAttemptAt: now, scheduleAttempts: 0, leaseUntil: null } },
      { returnDocument: 'after' },
    );
    if (updated) return updated;
    return (await this.docs.countDocuments({ _id })) ? 'busy' : null;
  }

  /** Makes every failed or exhausted delivery of an endpoint since `since` due now, with a fresh schedule. */
  async recover(endpointId: string, since: Date, now: Date): Promise<number> {
    const result = await this.docs.updateMany(
      { endpointId, status: { $in: ['failed', 'exhausted'] }, createdAt: { $gte: since }, ...free(now) },
      { $set: { status: 'pending', nextAttemptAt: now, scheduleAttempts: 0 } },
    );
    return result.modifiedCount;
  }

  async deleteOf(endpointId: string): Promise<void> {
    await this.docs.deleteMany({ endpointId });
  }

  /** Forgets finished deliveries (delivered or exhausted) created before `before`. */
  async purge(before: Date): Promise<void> {
    await this.docs.deleteMany({ createdAt: { $lt: before }, nextAttemptAt: null });
  }
}
