import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from './outbox-collection';

interface RequestIdDoc {
  /** The request's idempotency key (already scoped to its credential and route by the gateway). */
  _id: string;
  id: string;
  at: Date;
}

/** How long a key is remembered: the gateway's replay window. */
const KEEP_MS = 24 * 3_600_000;

/**
 * The id of what a request creates, fixed by its idempotency key: the first attempt's id is the
 * id of every retry, so a retry after a lost answer finds — and returns — what the first made.
 */
export class RequestIds {
  private readonly docs: Collection<RequestIdDoc>;

  constructor(db: Db) {
    this.docs = db.collection<RequestIdDoc>('request_ids');
  }

  /** `fresh()` for a request without a key; for a keyed one, the id its first attempt got. */
  async idFor(key: string | undefined, fresh: () => string): Promise<string> {
    const id = fresh();
    if (!key) return id;
    try {
      await this.docs.insertOne({ _id: key, id, at: new Date() });
      return id;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    const first = await this.docs.findOne({ _id: key });
    if (!first) throw new Error('idempotency key vanished');
    return first.id;
  }

  /** Forgets keys older than the replay window. */
  async purge(now: Date): Promise<void> {
    await this.docs.deleteMany({ at: { $lt: new Date(now.getTime() - KEEP_MS) } });
  }
}
