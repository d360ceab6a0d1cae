import type { Result, Router } from 'hono/router';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';

/** Distinct `method path` pairs remembered; past that the memory starts again (random paths cannot grow it). */
const MAX_ENTRIES = 4096;

/**
 * Hono's default router (its fast regular-expression router where the routes allow it, else
 * its trie router) with each `method path`'s match remembered. The gateway's routes need the
 * trie router (a static segment beside a parameter, as `/queue/status` and `/queue/{id}`), which
 * walks the tree and sorts what it found on every request: about 3 % of the gateway's CPU and a
 * tenth of what it allocates for a `GET` that is one RPC. A match is only read by Hono, so one
 * result serves every request for the same path.
 */
export class MatchCache<T> implements Router<T> {
  readonly name = 'MatchCache';
  private readonly inner: Router<T> = new SmartRouter({ routers: [new RegExpRouter(), new TrieRouter()] });
  private readonly matches = new Map<string, Result<T>>();

  /** Matches remembered now. */
  get size(): number {
    return this.matches.size;
  }

  add(method: string, path: string, handler: T): void {
    this.inner.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    const key = `${method} ${path}`;
    let found = this.matches.get(key);
    if (!found) {
      found = this.inner.match(method, path);
      if (this.matches.size >= MAX_ENTRIES) this.matches.clear();
      this.matches.set(key, found);
    }
    return found;
  }
}
