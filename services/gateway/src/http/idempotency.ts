import { createHash } from 'node:crypto';
import { AppError } from '@allot/contracts';
import type { Context } from 'hono';
import type { StatusCode } from 'hono/utils/http-status';
import type { IdempotencyStore } from '../store/idempotency';
import type { GatewayEnv } from './env';
import { requestHeader } from './node';
import { problem, toAppError } from './problem';
import { seal, unseal } from './sealed-answer';

/** JSON with sorted keys, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Runs a creating POST at most once per `Idempotency-Key` and credential (docs/api.md, the IETF
 * Idempotency-Key draft): the same key and body replays the stored response with
 * `Idempotent-Replayed: true`; another body is 422; a request still running is 409. Called
 * after validation, so an invalid request is never stored; a `validation_failed` from a service
 * is not stored either. Nor is a 5xx: its outcome is unknown (a 503 may come while the service
 * still works), so the key is released and a retry with it runs again — the services create at
 * most one resource per key. An answer that `carriesSecret` is stored sealed with the credential
 * the client presented, so only a replay by that client can read it.
 */
export async function idempotent<R extends Response>(
  c: Context<GatewayEnv>,
  store: IdempotencyStore,
  body: unknown,
  run: () => Promise<R>,
  { carriesSecret = false } = {},
): Promise<R> {
  const key = requestHeader(c, 'idempotency-key');
  if (key === undefined) return run();
  if (key.length < 1 || key.length > 255) {
    throw new AppError('validation_failed', 'Invalid Idempotency-Key', {
      errors: [{ path: 'Idempotency-Key', message: 'must be 1..255 characters' }],
    });
  }
  const credential = c.get('credential');
  const id = `${credential?.id ?? 'anonymous'}\u0000${key}`;
  const hash = createHash('sha256')
    .update(`${c.req.method} ${c.req.path}\n${canonical(body)}`)
    .digest('hex');

  const claim = await store.claim(id, hash, new Date());
  if (claim.kind === 'mismatch') throw new AppError('idempotency_key_reused', 'This Idempotency-Key was used with a different request');
  if (claim.kind === 'in_flight') throw new AppError('conflict', 'A request with this Idempotency-Key is still in progress');
  if (claim.kind === 'replay') {
    const body = claim.sealed ? unseal(claim.body, presented(c), id) : claim.body;
    if (body === undefined) throw new AppError('conflict', 'This answer can be replayed only with the credential that made the request');
    // Through the context, so the headers middleware prepared (request id, CORS, rate limit) stay.
    return c.newResponse(body, claim.status as StatusCode, {
      'content-type': claim.contentType,
      'idempotent-replayed': 'true',
    }) as R;
  }

  const { owner } = claim;
  const stopHolding = store.hold(id, owner);
  let response: R;
  try {
    response = await run();
  } catch (thrown) {
    const { error, status } = toAppError(thrown);
    if (error.code === 'validation_failed' || status >= 500) {
      await store.release(id, owner);
      throw thrown;
    }
    response = problem(c, error, status) as unknown as R;
  } finally {
    stopHolding();
  }
  if (response.status >= 500) {
    await store.release(id, owner);
    return response;
  }
  const text = await response.clone().text();
  await store.complete(id, owner, {
    status: response.status,
    body: carriesSecret ? seal(text, presented(c), id) : text,
    contentType: response.headers.get('content-type') ?? 'application/json',
    sealed: carriesSecret,
  });
  return response;
}

/** The secret the client authenticated with (its bearer credential). */
const presented = (c: Context<GatewayEnv>) => (requestHeader(c, 'authorization') ?? '').replace(/^Bearer\s+/i, '');
