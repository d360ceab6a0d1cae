import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { LRUCache } from 'lru-cache';
import type { GatewayEnv } from '../http/env';
import type { Fanout } from '../sse/fanout';

/**
 * How long an answer is served again at most. The purge below sees every change of figures;
 * this bounds what it does not see (a session renamed, deactivated, or given a new default).
 */
const ANSWER_TTL_MS = 1000;
const MAX_ANSWERS = 20_000;
/** Bytes of answers kept at most: a page may take a few hundred kB, so a count alone would not bound memory. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

interface Answer {
  body: string;
  etag: string;
  generation: number;
}

/** Whether `If-None-Match` names this entity tag (or any, `*`). */
const notModified = (ifNoneMatch: string | undefined, etag: string) =>
  ifNoneMatch?.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*') ?? false;

interface Tenant {
  /** Bumped by every change of the tenant's availability: answers of older generations are void. */
  generation: number;
  unlisten: (() => void) | undefined;
}

/**
 * The availability answers this gateway replica gave, kept per tenant and request URL and
 * served again without asking the service until the tenant's availability changes: the
 * `availability.*` client messages that SSE clients get also purge the tenant's answers here
 * (through the fan-out, while the tenant has answers kept). An answer whose request began before
 * a purge is not kept; a successful change through this replica (a refresh) purges at once.
 * Availability is the same for every credential of a tenant, so any of
 * them may be served a kept answer. Every answer carries an `ETag` (a hash of its body) and a
 * matching `If-None-Match` is answered 304 without a body.
 */
export function availabilityAnswers(fanout: Fanout): MiddlewareHandler<GatewayEnv> {
  const answers = new LRUCache<string, Answer>({
    max: MAX_ANSWERS,
    maxSize: MAX_ANSWER_BYTES,
    sizeCalculation: (answer) => Math.max(1, answer.body.length),
    ttl: ANSWER_TTL_MS,
  });
  const tenants = new Map<string, Tenant>();

  const watch = (tenantId: string): Tenant => {
    const tenant = tenants.get(tenantId) ?? { generation: 0, unlisten: undefined };
    tenants.set(tenantId, tenant);
    const forget = () => {
      tenant.unlisten = undefined;
    };
    tenant.unlisten ??= fanout.listen({
      tenantId,
      matches: (tokens) => tokens[0] === 'availability',
      send: () => {
        tenant.generation++;
        tenant.unlisten?.(); // listening again with the next answer kept
        tenant.unlisten = undefined;
      },
      close: forget,
      resume: forget, // only replaying listeners are told to resume; this one never replays
    });
    return tenant;
  };

  return async function keptAvailabilityAnswers(c, next) {
    const tenantId = c.get('credential')?.tenantId;
    if (!tenantId) return next();
    if (c.req.method !== 'GET') {
      await next();
      // A change made through this replica (a refresh) voids its answers at once, so the client
      // that made it reads it back, without waiting for the change's message to come round.
      const tenant = tenants.get(tenantId);
      if (tenant && c.res.ok) tenant.generation++;
      return;
    }
    const key = `${tenantId} ${c.req.url}`;
    const tenant = watch(tenantId);
    const kept = answers.get(key);
    if (kept && kept.generation === tenant.generation) {
      if (notModified(c.req.header('if-none-match'), kept.etag)) return c.body(null, 304, { etag: kept.etag });
      return c.body(kept.body, 200, { 'content-type': 'application/json', etag: kept.etag });
    }
    const generation = tenant.generation;
    await next();
    if (c.res.status !== 200) return;
    const body = await c.res.clone().text();
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    if (tenant.generation === generation) answers.set(key, { body, etag, generation });
    if (notModified(c.req.header('if-none-match'), etag)) c.res = new Response(null, { status: 304, headers: { etag } });
    else c.res.headers.set('etag', etag);
  };
}
