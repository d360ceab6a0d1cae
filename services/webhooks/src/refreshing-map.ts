import type { Clock } from '@allot/kit';

interface Entry<V> {
  value: Promise<V>;
  /** When the read that gave `value` started: the value is at least this fresh. */
  at: number;
  /** A read started ahead of the entry's expiry, while the entry still answers. */
  refresh?: { value: Promise<V>; at: number };
}

/**
 * Values read at most `ttlMs` ago. An entry past half its life is read again in the background
 * while it still answers, so a key in steady use is never waited for (the endpoint cache:
 * without it, each expiry made the tenant's next event wait for a database read, the tail of the
 * delivery benchmark's latency). Concurrent misses share one read; a read that fails is not kept.
 */
export class RefreshingMap<K, V> {
  private readonly entries = new Map<K, Entry<V>>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly read: (key: K) => Promise<V>,
  ) {}

  get(key: K): Promise<V> {
    const now = this.clock.now().getTime();
    const entry = this.entries.get(key);
    if (entry && now - entry.at < this.ttlMs) {
      if (now - entry.at >= this.ttlMs / 2 && !entry.refresh) this.refresh(key, entry, now);
      return entry.value;
    }
    // Expired: a refresh under way is fresh enough to wait for; else read now.
    if (entry?.refresh && now - entry.refresh.at < this.ttlMs) return entry.refresh.value;
    const fresh: Entry<V> = { value: this.read(key), at: now };
    this.entries.set(key, fresh);
    fresh.value.catch(() => {
      if (this.entries.get(key) === fresh) this.entries.delete(key);
    });
    return fresh.value;
  }

  private refresh(key: K, entry: Entry<V>, now: number): void {
    const refresh = { value: this.read(key), at: now };
    entry.refresh = refresh;
    refresh.value.then(
      () => {
        // Installed only if the entry is still the one refreshed: a `forget` meanwhile wins.
        if (this.entries.get(key) === entry) this.entries.set(key, { value: refresh.value, at: refresh.at });
      },
      () => {
        // The entry answers until it expires; the next use past half its life tries again.
        if (entry.refresh === refresh) entry.refresh = undefined;
      },
    );
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Drops what has expired (so keys seen once do not stay forever). */
  sweep(): void {
    const now = this.clock.now().getTime();
    for (const [key, entry] of this.entries) if (now - entry.at >= this.ttlMs && !entry.refresh) this.entries.delete(key);
  }
}
