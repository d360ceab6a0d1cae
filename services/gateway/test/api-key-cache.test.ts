import { describe, expect, it } from 'vitest';
import { ApiKeyVerifier, generateApiKey } from '../src/auth/api-keys';
import type { ApiKeyDoc, ApiKeyStore } from '../src/store/api-keys';

/** A store holding one key document that counts its reads. */
function fakeStore(doc: ApiKeyDoc) {
  const store = {
    reads: 0,
    doc: doc as ApiKeyDoc | null,
    async findByPrefix(prefix: string) {
      store.reads++;
      return store.doc && store.doc.prefix === prefix ? { ...store.doc } : null;
    },
  };
  return store;
}

describe('API key verification cache', () => {
  const { key, doc } = generateApiKey('t_1', 'ci', new Date());
  const wrongSecret = `${key.slice(0, -4)}AAAA` === key ? `${key.slice(0, -4)}BBBB` : `${key.slice(0, -4)}AAAA`;

  it('auth - a verified key is trusted from memory until its document is read again', async () => {
    const store = fakeStore(doc);
    const verifier = new ApiKeyVerifier(store as unknown as ApiKeyStore, 4000);
    const t0 = 1_000_000;
    expect(verifier.known(key, t0)).toBeUndefined();
    expect((await verifier.verify(key, t0))?._id).toBe(doc._id);
    expect(verifier.known(key, t0 + 3999)?._id).toBe(doc._id);
    expect((await verifier.verify(key, t0 + 3999))?._id).toBe(doc._id);
    expect(store.reads).toBe(1);
    // The same prefix with another secret is not the cached key.
    expect(verifier.known(wrongSecret, t0 + 1)).toBeUndefined();
    expect(await verifier.verify(wrongSecret, t0 + 1)).toBeUndefined();
    // Past the cache time the document is read again: a revocation seen there applies.
    expect(verifier.known(key, t0 + 4000)).toBeUndefined();
    store.doc = { ...doc, revokedAt: new Date().toISOString() };
    expect(await verifier.verify(key, t0 + 4000)).toBeUndefined();
    expect(store.reads).toBe(2);
  });

  it('auth - forget(keyId) drops a verified key at once', async () => {
    const store = fakeStore(doc);
    const verifier = new ApiKeyVerifier(store as unknown as ApiKeyStore, 4000);
    const t0 = 2_000_000;
    expect(await verifier.verify(key, t0)).toBeDefined();
    verifier.forget('key_other');
    expect(verifier.known(key, t0 + 1)).toBeDefined();
    verifier.forget(doc._id);
    expect(verifier.known(key, t0 + 1)).toBeUndefined();
    store.doc = null;
    expect(await verifier.verify(key, t0 + 1)).toBeUndefined();
    expect(store.reads).toBe(2);
  });
});
