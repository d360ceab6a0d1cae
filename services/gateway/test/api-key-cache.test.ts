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
    async findById(id: string) {
      store.reads++;
      return store.doc && store.doc._id === id ? { ...store.doc } : null;
    },
  };
  return store;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('API key verification cache', () => {
  const { key, doc } = generateApiKey('t_1', 'ci', new Date());
  const wrongSecret = `${key.slice(0, -4)}AAAA` === key ? `${key.slice(0, -4)}BBBB` : `${key.slice(0, -4)}AAAA`;

  it('auth - a verified key is trusted from memory until its document is read again', async () => {
    const store = fakeStore(doc);
    const verifier = new ApiKeyVerifier(store as unknown as ApiKeyStore, 300);
    expect(verifier.known(key)).toBeUndefined();
    expect((await verifier.verify(key))?._id).toBe(doc._id);
    expect(verifier.known(key)?._id).toBe(doc._id);
    expect((await verifier.verify(key))?._id).toBe(doc._id);
    expect(store.reads).toBe(1);
    // The same prefix with another secret is not the cached key.
    expect(verifier.known(wrongSecret)).toBeUndefined();
    expect(await verifier.verify(wrongSecret)).toBeUndefined();
    expect(store.reads).toBe(1);
    // Past the cache time the document is read again: a revocation seen there applies.
    await sleep(350);
    expect(verifier.known(key)).toBeUndefined();
    store.doc = { ...doc, revokedAt: new Date().toISOString() };
    expect(await verifier.verify(key)).toBeUndefined();
    expect(store.reads).toBe(2);
  });

  it('auth - forget(keyId) drops a verified key at once and tells its watchers', async () => {
    const store = fakeStore(doc);
    const verifier = new ApiKeyVerifier(store as unknown as ApiKeyStore, 4000);
    expect(await verifier.verify(key)).toBeDefined();
    expect(await verifier.isLive(doc._id)).toBe(true);
    let told = 0;
    verifier.watch(doc._id, () => told++);
    // A watcher may be an object (an SSE stream watches as itself); one that stopped is not told.
    const stream = { revoked: 0, keyRevoked: () => stream.revoked++ };
    const gone = { revoked: 0, keyRevoked: () => gone.revoked++ };
    verifier.watch(doc._id, stream);
    verifier.watch(doc._id, gone);
    verifier.unwatch(doc._id, gone);
    verifier.forget('key_other');
    expect(verifier.known(key)).toBeDefined();
    expect(told).toBe(0);
    verifier.forget(doc._id);
    expect(told).toBe(1);
    expect([stream.revoked, gone.revoked]).toEqual([1, 0]);
    expect(verifier.known(key)).toBeUndefined();
    expect(await verifier.isLive(doc._id)).toBe(false);
    store.doc = null;
    expect(await verifier.verify(key)).toBeUndefined();
    expect(store.reads).toBe(3);
  });
});
