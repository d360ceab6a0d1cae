import type { ApiKey, EventEnvelope } from '@allot/contracts';
import { type OutboxEntry, outboxPush } from '@allot/kit';
import type { Collection, Db, IndexDescription } from 'mongodb';

export interface ApiKeyDoc {
  _id: string;
  tenantId: string;
  name: string;
  /** Public part of the key, used to find it. */
  prefix: string;
  /** SHA-256 of the secret part (the secret is 256 random bits, so a fast hash is enough). */
  secretHash: string;
  createdAt: string;
  revokedAt: string | null;
  outbox?: OutboxEntry[];
}

export const apiKeyIndexes: IndexDescription[] = [{ key: { prefix: 1 }, unique: true }, { key: { tenantId: 1, _id: 1 } }];

export const toApiKey = (doc: ApiKeyDoc): ApiKey => ({ id: doc._id, name: doc.name, prefix: doc.prefix, createdAt: doc.createdAt });

export class ApiKeyStore {
  readonly keys: Collection<ApiKeyDoc>;

  constructor(db: Db) {
    this.keys = db.collection<ApiKeyDoc>('apiKeys');
  }

  async insert(doc: ApiKeyDoc): Promise<void> {
    await this.keys.insertOne(doc);
  }

  findByPrefix(prefix: string): Promise<ApiKeyDoc | null> {
    return this.keys.findOne({ prefix });
  }

  /** Live keys of a tenant, oldest first, after the cursor (a key id). */
  list(tenantId: string, limit: number, after?: string): Promise<ApiKeyDoc[]> {
    const filter = after ? { tenantId, revokedAt: null, _id: { $gt: after } } : { tenantId, revokedAt: null };
    return this.keys.find(filter).sort({ _id: 1 }).limit(limit).toArray();
  }

  /** Revokes a live key of the tenant and stores its `apikey.revoked` event in the same update. */
  async revoke(tenantId: string, keyId: string, at: string, event: EventEnvelope): Promise<ApiKeyDoc | null> {
    return this.keys.findOneAndUpdate(
      { _id: keyId, tenantId, revokedAt: null },
      { $set: { revokedAt: at }, ...outboxPush([event]) },
      { returnDocument: 'after' },
    );
  }
}
