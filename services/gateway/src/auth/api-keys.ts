import { newId } from '@allot/kit';
import { LRUCache } from 'lru-cache';
import { gatewayMetrics } from '../metrics';
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

/** How many keys each cache remembers: an attacker's random prefixes evict each other, not the memory. */
const CACHE_ENTRIES = 10_000;

/** How long, and for how many keys, a replica remembers the prefixes of keys that verified. */
const SEEN_MS = 24 * 3_600_000;
const SEEN_ENTRIES = 100_000;

/**
 * Told when a watched key is revoked: a function, or an object with a method (an SSE stream
 * watches its key for hours, and as the object itself it costs no closure of its own).
 */
export type KeyWatcher = (() => void) | { keyRevoked(): void };

/** A cached store read; `doc: null` remembers that nothing matched. */
interface Found {
  doc: ApiKeyDoc | null;
}

/**
 * Verifies API keys against the store through short-lived caches: a replica trusts what it
 * read for `cacheMs` at most, so a revocation takes effect on every replica within that time
 * even if its revocation event is missed; the event (see `forget`) makes it immediate.
 *
 * Three bounded LRU caches, each entry living `cacheMs`: documents by prefix (an unknown prefix
 * is remembered as such, so repeating it costs no lookup), presented keys that verified (a busy
 * key costs one cache hit instead of a hash per request), and whether a key id is live (for the
 * user tokens a key minted). Concurrent misses of one entry share one store read.
 */
export class ApiKeyVerifier {
  private readonly byPrefix: LRUCache<string, Found>;
  private readonly byId: LRUCache<string, Found>;
  private readonly verified: LRUCache<string, ApiKeyDoc>;
  /** Prefixes of keys that verified here lately: never trusted, only worth a lookup (see `worthLookingUp`). */
  private readonly seen = new LRUCache<string, true>({ max: SEEN_ENTRIES, ttl: SEEN_MS });
  private readonly watchers = new Map<string, Set<KeyWatcher>>();
  private recheck: NodeJS.Timeout | undefined;

  constructor(
    store: ApiKeyStore,
    private readonly cacheMs: number,
  ) {
    const counted = (read: (value: string) => Promise<ApiKeyDoc | null>) => async (value: string) => {
      gatewayMetrics().apiKeyLookups.add(1);
      return { doc: await read(value) };
    };
    const options = { max: CACHE_ENTRIES, ttl: cacheMs };
    this.byPrefix = new LRUCache<string, Found>({ ...options, fetchMethod: counted((prefix) => store.findByPrefix(prefix)) });
    this.byId = new LRUCache<string, Found>({ ...options, fetchMethod: counted((id) => store.findById(id)) });
    // Read for every request with a key: the clock each time, rather than lru-cache's default of a
    // timer every millisecond to forget a cached reading (a timer made per request under load).
    this.verified = new LRUCache<string, ApiKeyDoc>({ ...options, ttlResolution: 0 });
  }

  /** The key document of a presented key that verified recently (no I/O, no hashing), or undefined. */
  known(key: string): ApiKeyDoc | undefined {
    return this.verified.get(key);
  }

  /**
   * Whether a presented key has the prefix of a key that verified on this replica in the last
   * day (no I/O). Used to spend lookups on likely keys when its client's address is out of
   * allowance; an attacker cannot add to it without a valid key.
   */
  worthLookingUp(key: string): boolean {
    const prefix = KEY_PATTERN.exec(key)?.[1];
    return prefix !== undefined && this.seen.has(prefix);
  }

  /** The live key document for a presented key, or undefined. */
  async verify(key: string): Promise<ApiKeyDoc | undefined> {
    const known = this.known(key);
    if (known) return known;
    const match = KEY_PATTERN.exec(key);
    if (!match) return undefined;
    const [, prefix, secret] = match as unknown as [string, string, string];
    const doc = (await this.byPrefix.fetch(prefix))?.doc;
    if (!doc || doc.revokedAt) return undefined;
    if (!sameSecret(sha256(secret).toString('hex'), doc.secretHash)) return undefined;
    // Trusted exactly as long as the document it was checked against.
    this.verified.set(key, doc, { ttl: Math.max(1, this.byPrefix.getRemainingTTL(prefix)) });
    this.seen.set(prefix, true);
    return doc;
  }

  /** Whether the key with this id exists and is not revoked (for the user tokens it minted). */
  async isLive(keyId: string): Promise<boolean> {
    const doc = (await this.byId.fetch(keyId))?.doc;
    return Boolean(doc && !doc.revokedAt);
  }

  /**
   * Tells `watcher` once this replica learns that the key is revoked: from the revocation event
   * at once, or — if that was missed — from the store within half of `cacheMs`, as watched keys
   * are read again that often (one read per watched key, however many streams it has). Returns
   * the unsubscriber; `unwatch` does the same without one.
   */
  watch(keyId: string, watcher: KeyWatcher): () => void {
    const set = this.watchers.get(keyId) ?? new Set();
    this.watchers.set(keyId, set);
    set.add(watcher);
    this.recheck ??= setInterval(() => this.recheckWatched(), this.cacheMs / 2).unref();
    return () => this.unwatch(keyId, watcher);
  }

  unwatch(keyId: string, watcher: KeyWatcher): void {
    const set = this.watchers.get(keyId);
    if (set?.delete(watcher) && set.size === 0) this.watchers.delete(keyId);
  }

  /** Stops checking watched keys (the gateway is shutting down). */
  stop(): void {
    clearInterval(this.recheck);
    this.recheck = undefined;
  }

  /** Reads every watched key afresh (not from the cache), so a missed revocation still counts. */
  private recheckWatched() {
    for (const keyId of this.watchers.keys()) {
      this.byId.fetch(keyId, { forceRefresh: true }).then(
        (found) => (found?.doc && !found.doc.revokedAt) || this.forget(keyId),
        () => {}, // the store is unreachable: keep the streams, check again next time
      );
    }
  }

  /** Drops a revoked key from the caches at once and tells whoever watches it. */
  forget(keyId: string): void {
    for (const [prefix, entry] of this.byPrefix.entries()) if (entry.doc?._id === keyId) this.byPrefix.delete(prefix);
    for (const [key, doc] of this.verified.entries()) if (doc._id === keyId) this.verified.delete(key);
    this.byId.set(keyId, { doc: null });
    const watchers = this.watchers.get(keyId);
    this.watchers.delete(keyId);
    for (const watcher of watchers ?? []) {
      if (typeof watcher === 'function') watcher();
      else watcher.keyRevoked();
    }
  }
}
