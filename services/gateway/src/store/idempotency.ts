import { isDuplicateKey } from '@allot/kit';
import type { Collection, Db, IndexDescription } from 'mongodb';

interface IdempotencyDoc {
  _id: string;
  requestHash: string;
  state: 'running' | 'done';
  /** While running: when another request may assume the first one died and take over. */
  lockedUntil: Date;
  expiresAt: Date;
  status?: number;
  body?: string;
  contentType?: string;
}

export type Claim =
  | { kind: 'new' }
  | { kind: 'replay'; status: number; body: string; contentType: string }
  | { kind: 'mismatch' }
  | { kind: 'in_flight' };

export const idempotencyIndexes: IndexDescription[] = [{ key: { expiresAt: 1 } }];

const LOCK_MS = 60_000;

/**
 * Idempotency records, one per (credential, key). FerretDB has no TTL indexes, so expired
 * records are ignored on read and removed by `purgeExpired`.
 */
export class IdempotencyStore {
  private readonly records: Collection<IdempotencyDoc>;

  constructor(
    db: Db,
    private readonly ttlMs: number,
  ) {
    this.records = db.collection<IdempotencyDoc>('idempotency');
  }

  /** Claims the key for this request, or says why it cannot run. */
  async claim(id: string, requestHash: string, now: Date): Promise<Claim> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.records.insertOne({
          _id: id,
          requestHash,
          state: 'running',
          lockedUntil: new Date(now.getTime() + LOCK_MS),
          expiresAt: new Date(now.getTime() + this.ttlMs),
        });
        return { kind: 'new' };
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
        };
      }
      if (existing.lockedUntil > now) return { kind: 'in_flight' };
      // The first request's gateway died mid-request: take over, once.
      const taken = await this.records.findOneAndUpdate(
        { _id: id, state: 'running', lockedUntil: { $lte: now } },
        { $set: { lockedUntil: new Date(now.getTime() + LOCK_MS) } },
      );
      return taken ? { kind: 'new' } : { kind: 'in_flight' };
    }
    return { kind: 'in_flight' };
  }

  async complete(id: string, response: { status: number; body: string; contentType: string }): Promise<void> {
    await this.records.updateOne({ _id: id }, { $set: { state: 'done', ...response } });
  }

  /** Forgets a claim whose request was rejected as invalid, so the client may fix it and retry. */
  async release(id: string): Promise<void> {
    await this.records.deleteOne({ _id: id, state: 'running' });
  }

  async purgeExpired(now: Date): Promise<number> {
    const result = await this.records.deleteMany({ expiresAt: { $lte: now } });
    return result.deletedCount;
  }
}
