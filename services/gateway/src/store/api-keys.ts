import type { ApiKey, EventEnvelope } from '@allot/contracts';
import type { OutboxCollection, OutboxEntry } from '@allot/kit';
import type { IndexDescription } from 'mongodb';

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
  constructor(private readonly keys: OutboxCollection<ApiKeyDoc>) {}

  async insert(doc: ApiKeyDoc): Promise<void> {
    await this.keys.insert(doc);
  }

  findByPrefix(prefix: string): Promise<ApiKeyDoc | null> {
    return this.keys.findOne({ prefix });
  }

  findById(id: string): Promise<ApiKeyDoc | null> {
    return this.keys.findOne({ _id: id });
  }

  /** Live keys of a tenant, oldest first, after the cursor (a key id). */
  list(tenantId: string, limit: number, after?: string): Promise<ApiKeyDoc[]> {
    const filter = after ? { tenantId, revokedAt: null, _id: { $gt: after } } : { tenantId, revokedAt: null };
    return this.keys.find(filter).sort({ _id: 1 }).limit(limit).toArray();
  }

  /** Revokes a live key of the tenant and announces it (`apikey.revoked`, stored in the same update). */
  revoke(tenantId: string, keyId: string, at: string, event: EventEnvelope): Promise<ApiKeyDoc | null> {
    return this.keys.update({ _id: keyId, tenantId, revokedAt: null }, { $set: { revokedAt: at } }, [event]);
  }
}
