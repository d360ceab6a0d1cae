import { newId } from '@allot/kit';
import type { ApiKeyDoc, ApiKeyStore } from '../store/api-keys';
import { randomToken, sameSecret, sha256 } from './secrets';

const KEY_PATTERN = /^allot_([A-Za-z0-9_-]{16})_([A-Za-z0-9_-]{43})$/;

/** Makes a new key: `allot_<prefix>_<secret>`; the document stores only the secret's hash. */
export function generateApiKey(tenantId: string, name: string, now: Date): { key: string; doc: ApiKeyDoc } {
  const prefix = randomToken(12);
  const secret = randomToken(32);
  return {
    key: `allot_${prefix}_${secret}`,
    doc: {
      _id: newId('key'),
      tenantId,
      name,
      prefix,
      secretHash: sha256(secret).toString('hex'),
      createdAt: now.toISOString(),
      revokedAt: null,
    },
  };
}

export const looksLikeApiKey = (token: string) => token.startsWith('allot_');

/**
 * Verifies API keys against the store through a short-lived cache: a replica trusts what it
 * read for `cacheMs` at most, so a revocation takes effect on every replica within that time
 * even if its revocation event is missed; the event (see `forget`) makes it immediate.
 *
 * A key that verified is remembered (by the whole presented key) until its document's cache
 * entry expires, so a busy key costs one map lookup instead of a hash per request; `forget`
 * drops it with the document.
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, { doc: ApiKeyDoc | null; until: number }>();
  private readonly verified = new Map<string, { doc: ApiKeyDoc; until: number }>();

  constructor(
    private readonly store: ApiKeyStore,
    private readonly cacheMs: number,
  ) {}

  /** The key document of a presented key that verified recently (no I/O, no hashing), or undefined. */
  known(key: string, now = Date.now()): ApiKeyDoc | undefined {
    const entry = this.verified.get(key);
    if (!entry) return undefined;
    if (entry.until > now) return entry.doc;
    this.verified.delete(key);
    return undefined;
  }

  /** The live key document for a presented key, or undefined. */
  async verify(key: string, now = Date.now()): Promise<ApiKeyDoc | undefined> {
    const known = this.known(key, now);
    if (known) return known;
    const match = KEY_PATTERN.exec(key);
    if (!match) return undefined;
    const [, prefix, secret] = match as unknown as [string, string, string];
    let cached = this.cache.get(prefix);
    if (!cached || cached.until <= now) {
      cached = { doc: await this.store.findByPrefix(prefix), until: now + this.cacheMs };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(prefix, cached);
    }
    const doc = cached.doc;
    if (!doc || doc.revokedAt) return undefined;
    if (!sameSecret(sha256(secret).toString('hex'), doc.secretHash)) return undefined;
    // Trusted exactly as long as the document it was checked against.
    if (this.verified.size > 10_000) this.verified.clear();
    this.verified.set(key, { doc, until: cached.until });
    return doc;
  }

  /** Drops a revoked key from the cache at once. */
  forget(keyId: string): void {
    for (const [prefix, entry] of this.cache) if (entry.doc?._id === keyId) this.cache.delete(prefix);
    for (const [key, entry] of this.verified) if (entry.doc._id === keyId) this.verified.delete(key);
  }
}
