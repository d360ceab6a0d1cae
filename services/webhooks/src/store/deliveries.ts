import type { DeliveryAttempt, WebhookDelivery } from '@allot/contracts';
import { insertNew } from '@allot/kit';
import type { Collection, Db, Filter, IndexDescription } from 'mongodb';

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
  /** Sorts by creation: the list's order and cursor. */
  seq: string;
  createdAt: Date;
}

export const KEPT_ATTEMPTS = 20;

export const deliveryIndexes: IndexDescription[] = [
  { key: { endpointId: 1, nextAttemptAt: 1 } },
  { key: { nextAttemptAt: 1 } },
  { key: { endpointId: 1, seq: -1 } },
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

  constructor(db: Db) {
    this.docs = db.collection<DeliveryDoc>('deliveries');
  }

  /** Stores new deliveries; those stored before (the same event again) are left as they are. */
  async insert(docs: DeliveryDoc[]): Promise<void> {
    await insertNew(this.docs, docs);
  }

  get(endpointId: string, messageId: string): Promise<DeliveryDoc | null> {
    return this.docs.findOne({ _id: `${endpointId}:${messageId}` });
  }

  list(endpointId: string, limit: number, before?: string, status?: Status): Promise<DeliveryDoc[]> {
    const query: Filter<DeliveryDoc> = { endpointId };
    if (status) query.status = status;
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

  /** Takes a delivery for one attempt, until `leaseUntil`; false if another took it or it changed. */
  async claim(doc: DeliveryDoc, now: Date, leaseUntil: Date): Promise<boolean> {
    const claimed = await this.docs.updateOne(
      { _id: doc._id, nextAttemptAt: { $lte: now }, leaseUntil: doc.leaseUntil },
      { $set: { leaseUntil } },
    );
    return claimed.modifiedCount === 1;
  }

  /** Records an attempt and what follows from it, if the attempt still holds its lease. */
  async settle(
    doc: DeliveryDoc,
    lease: Date,
    attempt: DeliveryAttempt,
    next: { status: Status; nextAttemptAt: Date | null; scheduleAttempts: number },
  ): Promise<boolean> {
    const attempts = [...doc.attempts, attempt].slice(-KEPT_ATTEMPTS);
    const settled = await this.docs.updateOne({ _id: doc._id, leaseUntil: lease }, { $set: { ...next, attempts, leaseUntil: null } });
    return settled.modifiedCount === 1;
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
