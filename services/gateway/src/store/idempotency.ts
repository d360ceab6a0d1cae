import { randomUUID } from 'node:crypto';
import { isDuplicateKey } from '@allot/kit';
import type { Collection, Db, IndexDescription } from 'mongodb';

interface IdempotencyDoc {
  _id: string;
  requestHash: string;
  state: 'running' | 'done';
  /** The claim of the request running under the key: only it may renew, complete or release. */
  owner: string;
  /** While running: the owner renews this; a lapsed lock means its gateway died. */
  lockedUntil: Date;
  expiresAt: Date;
  status?: number;
  body?: string;
  contentType?: string;
  /** The body is sealed (it carries a secret; see `sealed-answer.ts`). */
  sealed?: boolean;
}

export type Claim =
  | { kind: 'new'; owner: string }
  | { kind: 'replay'; status: number; body: string; contentType: string; sealed: boolean }
  | { kind: 'mismatch' }
  | { kind: 'in_flight' };

export const idempotencyIndexes: IndexDescription[] = [{ key: { expiresAt: 1 } }];

/**
 * Idempotency records, one per (credential, key). FerretDB has no TTL indexes, so expired
 * records are ignored on read and removed by `purgeExpired`.
 *
 * A running request holds its key with a lock of `lockMs` that it renews every third of that
 * while it runs (`hold`), so a retry never takes over a request that is still running; only a
 * lock left to lapse — its gateway died — can be taken over.
 */
export class IdempotencyStore {
  private readonly records: Collection<IdempotencyDoc>;

  constructor(
    db: Db,
    private readonly ttlMs: number,
    readonly lockMs = 30_000,
  ) {
    this.records = db.collection<IdempotencyDoc>('idempotency');
  }

  /** Claims the key for this request, or says why it cannot run. */
  async claim(id: string, requestHash: string, now: Date): Promise<Claim> {
    const owner = randomUUID();
    const lockedUntil = new Date(now.getTime() + this.lockMs);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.records.insertOne({
          _id: id,
          requestHash,
          state: 'running',
          owner,
          lockedUntil,
          expiresAt: new Date(now.getTime() + this.ttlMs),
        });
        return { kind: 'new', owner };
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const existing = await this.records.findOne({ _id: id });
      if (!existing) continue; // removed meanwhile: try the insert again
      if (existing.expiresAt <= now) {
        await this.records.deleteOne({ _id: id, expiresAt: { $lte: now } });
        continue;
      }
      if (existing.requestHash !== requestHash) return { kind: 'mismatch' };
      if (existing.state === 'done') {
        return {
          kind: 'replay',
          status: existing.status ?? 200,
          body: existing.body ?? '',
          contentType: existing.contentType ?? 'application/json',
          sealed: existing.sealed === true,
        };
      }
      if (existing.lockedUntil > now) return { kind: 'in_flight' };
      // Nobody renewed the lock: the first request's gateway died mid-request. Take over, once.
      const taken = await this.records.findOneAndUpdate(
        { _id: id, state: 'running', owner: existing.owner, lockedUntil: { $lte: now } },
        { $set: { owner, lockedUntil } },
      );
      return taken ? { kind: 'new', owner } : { kind: 'in_flight' };
    }
    return { kind: 'in_flight' };
  }

  /** Renews the owner's lock every third of `lockMs` until the returned function is called. */
  hold(id: string, owner: string): () => void {
    const renew = setInterval(() => {
      const lockedUntil = new Date(Date.now() + this.lockMs);
      this.records.updateOne({ _id: id, owner, state: 'running' }, { $set: { lockedUntil } }).catch(() => {});
    }, this.lockMs / 3);
    renew.unref();
    return () => clearInterval(renew);
  }

  async complete(
    id: string,
    owner: string,
    response: { status: number; body: string; contentType: string; sealed: boolean },
  ): Promise<void> {
    await this.records.updateOne({ _id: id, owner, state: 'running' }, { $set: { state: 'done', ...response } });
  }

  /** Forgets the owner's claim, so a retry with the key runs again. */
  async release(id: string, owner: string): Promise<void> {
    await this.records.deleteOne({ _id: id, owner, state: 'running' });
  }

  async purgeExpired(now: Date): Promise<number> {
    const result = await this.records.deleteMany({ expiresAt: { $lte: now } });
    return result.deletedCount;
  }
}
