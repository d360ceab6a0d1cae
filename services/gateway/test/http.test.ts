import { request as httpRequest } from 'node:http';
import { AppError, rpc } from '@allot/contracts';
import { RpcServer } from '@allot/kit';
import { testLogger } from '@allot/kit/testing';
import { createRoute, z } from '@hono/zod-openapi';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialOf, requireCredential } from '../src/http/auth';
import { idempotent } from '../src/http/idempotency';
import { router } from '../src/http/openapi';
import { IdempotencyStore } from '../src/store/idempotency';
import { createTenant, startTestGateway, type TestGateway } from './harness';

const absent = rpc('nobody serves this', z.object({}), z.object({}));
const traced = rpc('answers the trace it runs in', z.object({}), z.object({ traceId: z.string() }));

describe('gateway HTTP conventions', () => {
  let gw: TestGateway;
  let key: string;
  let runs = 0;
  let flakyRuns = 0;
  let running = 0;
  let mostAtOnce = 0;

  beforeAll(async () => {
    gw = await startTestGateway(
      { RPC_TIMEOUT_MS: '300', READY_SERVICES: 'capacity' },
      {
        // Probe routes: an RPC to a service that does not exist, and a slow creating POST.
        extend: (app, deps) => {
          app.get('/v1/probe/absent', requireCredential('apiKey'), async (c) =>
            c.json(await deps.callService(c, 'capacity', 'probe-absent', absent, {})),
          );
          app.get('/v1/probe/traced', requireCredential('apiKey'), async (c) =>
            c.json(await deps.callService(c, 'capacity', 'probe-traced', traced, {})),
          );
          // A creating POST whose odd runs end in 503, under a store whose locks last 300 ms
          // (renewed while the request runs), so a takeover would come quickly if it could.
          let shortLocks: IdempotencyStore | undefined;
          app.route(
            '/v1',
            router().openapi(
              createRoute({
                method: 'post',
                path: '/probe/flaky',
                middleware: [requireCredential('apiKey')],
                request: {
                  body: { required: true, content: { 'application/json': { schema: z.strictObject({ ms: z.number().int().max(5000) }) } } },
                },
                responses: { 201: { description: 'ok', content: { 'application/json': { schema: z.object({ run: z.number() }) } } } },
              }),
              async (c) => {
                const { ms } = c.req.valid('json');
                credentialOf(c, 'apiKey');
                shortLocks ??= new IdempotencyStore(gw.service.db, 3_600_000, 300);
                return idempotent(c, shortLocks, { ms }, async () => {
                  running++;
                  mostAtOnce = Math.max(mostAtOnce, running);
                  const run = ++flakyRuns;
                  try {
                    await new Promise((r) => setTimeout(r, ms));
                  } finally {
                    running--;
                  }
                  if (run % 2 === 1) throw new AppError('upstream_unavailable', 'The service did not answer in time');
                  return c.json({ run }, 201);
                });
              },
            ),
          );
          app.route(
            '/v1',
            router().openapi(
              createRoute({
                method: 'post',
                path: '/probe/slow',
                middleware: [requireCredential('apiKey')],
                request: {
                  body: {
                    required: true,
                    content: {
                      'application/json': { schema: z.strictObject({ ms: z.number().int().max(2000), fail: z.boolean().optional() }) },
                    },
                  },
                },
                responses: { 201: { description: 'ok', content: { 'application/json': { schema: z.object({ run: z.number() }) } } } },
              }),
              async (c) => {
                const body = c.req.valid('json');
                credentialOf(c, 'apiKey');
                return idempotent(c, deps.idempotency, body, async () => {
                  await new Promise((r) => setTimeout(r, body.ms));
                  if (body.fail) throw new AppError('capacity_exhausted', 'full', { availableSlots: 0 });
                  return c.json({ run: ++runs }, 201);
                });
              },
            ),
          );
        },
      },
    );
    ({ key } = await createTenant(gw));
  });
  afterAll(() => gw.stop());

  it('http - malformed JSON, wrong types and unknown fields are 400 naming each field, and nothing is written', async () => {
    const before = (await gw.call('GET', '/v1/api-keys', { key })).body.items.length;
    const malformed = await gw.call('POST', '/v1/api-keys', { key, body: '{"name": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'validation_failed', errors: [{ path: '(body)' }] });

    const wrong = await gw.call('POST', '/v1/api-keys', { key, body: { name: 42, colour: 'red' } });
    expect(wrong.status).toBe(400);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');
    expect(wrong.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['colour', 'name']);
    expect(wrong.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status: 400, detail: expect.any(String) });

    const notJson = await gw.call('POST', '/v1/api-keys', { key, body: 'name=x', headers: { 'content-type': 'text/plain' } });
    expect(notJson.status).toBe(400);
    expect((await gw.call('GET', '/v1/api-keys', { key })).body.items.length).toBe(before);
  });

  it('http - out-of-range and unknown query values are 400 naming the parameter', async () => {
    const res = await gw.call('GET', '/v1/api-keys?limit=0', { key });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'limit', message: 'must be at least 1' }]);
    const unknown = await gw.call('GET', '/v1/api-keys?colour=red', { key });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].path).toContain('colour');
  });

  it('http - each offending field is named once, as the client wrote it, with one clear message', async () => {
    const booking = { sessionId: 'ses_1', date: '2030-01-01', adults: 1e308, children: -1, colour: 'red' };
    const res = await gw.call('POST', '/v1/bookings', { key, body: booking });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'adults', message: 'must be at most 10000' },
      { path: 'children', message: 'must be at least 0' },
      { path: 'colour', message: 'is not a known field' },
    ]);
    expect(res.body.detail).toBe('Invalid request: adults must be at most 10000; children must be at least 0; colour is not a known field');
    const query = await gw.call('GET', '/v1/bookings?limit=500&status=lost', { key });
    expect(query.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['limit', 'status']);
  });

  it("http - a user token naming another user's userId is refused with 403, not rewritten", async () => {
    const token = (await gw.call('POST', '/v1/auth/user-tokens', { key, body: { userId: 'alice' } })).body.token;
    const booking = { sessionId: 'ses_1', date: '2030-01-01', adults: 1 };
    const forOther = await gw.call('POST', '/v1/bookings', { key: token, body: { ...booking, userId: 'bob' } });
    expect(forOther.status).toBe(403);
    expect(forOther.body).toMatchObject({ code: 'forbidden', detail: expect.stringContaining('userId') });
    expect((await gw.call('GET', '/v1/bookings?userId=bob', { key: token })).status).toBe(403);
    // Its own userId passes the gateway (and meets the absent service here: 503).
    expect((await gw.call('POST', '/v1/bookings', { key: token, body: { ...booking, userId: 'alice' } })).status).toBe(503);
  });

  it('http - every response carries X-Request-Id (echoed) and traceparent', async () => {
    const res = await gw.call('GET', '/v1/api-keys', { key, headers: { 'x-request-id': 'req-123' } });
    expect(res.headers.get('x-request-id')).toBe('req-123');
    expect(res.headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    const traced = await gw.call('GET', '/v1/nowhere', {
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    expect(traced.status).toBe(404);
    expect(traced.body.code).toBe('not_found');
    expect(traced.headers.get('traceparent')).toContain('0af7651916cd43dd8448eb211c80319c');
    expect(traced.headers.get('x-request-id')).toBeTruthy();
  });

  it("http - the service an RPC route calls runs in the request's trace: the caller's, or the one the gateway began", async () => {
    const service = new RpcServer(gw.service.nc, 'capacity', testLogger()).add('probe-traced', traced, async () => ({
      traceId: trace.getActiveSpan()?.spanContext().traceId ?? 'none',
    }));
    try {
      const callers = await gw.call('GET', '/v1/probe/traced', {
        key,
        headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      });
      expect(callers.body).toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c' });
      const begun = await gw.call('GET', '/v1/probe/traced', { key });
      expect(begun.status).toBe(200);
      expect(begun.headers.get('traceparent')).toContain(`-${begun.body.traceId}-`);
    } finally {
      await service.stop();
    }
  });

  it('http - a body over the limit is refused before it is read', async () => {
    const res = await gw.call('POST', '/v1/api-keys', { key, body: { name: 'x'.repeat(2 * 1024 * 1024) } });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('validation_failed');
  });

  it('http - a JSON body sent in chunks without a length is read whole, and refused with 413 once it passes the limit', async () => {
    // A name whose multi-byte characters are split across chunks.
    const name = 'Café ☕ key';
    const bytes = Buffer.from(JSON.stringify({ name }));
    const cut = bytes.indexOf(Buffer.from('☕')) + 1;
    const created = await chunked(gw.base, '/v1/api-keys', key, [bytes.subarray(0, 5), bytes.subarray(5, cut), bytes.subarray(cut)]);
    expect(created.status).toBe(201);
    expect(JSON.parse(created.body).name).toBe(name);

    const before = (await gw.call('GET', '/v1/api-keys', { key })).body.items.length;
    const tooLarge = await chunked(gw.base, '/v1/api-keys', key, [
      Buffer.from('{"name":"'),
      ...Array.from({ length: 40 }, () => Buffer.alloc(64 * 1024, 'x')),
      Buffer.from('"}'),
    ]);
    expect(tooLarge.status).toBe(413);
    expect(JSON.parse(tooLarge.body).code).toBe('validation_failed');
    expect((await gw.call('GET', '/v1/api-keys', { key })).body.items.length).toBe(before);
  });

  it('http - a service that is down answers 503 upstream_unavailable by the deadline, and /readyz is 503', async () => {
    const res = await gw.call('GET', '/v1/probe/absent', { key });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('upstream_unavailable');
    expect(res.body.detail).toMatch(/is not available$/); // no responders, told at once: not the deadline's "did not answer in time"
    const ready = await gw.call('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'not_ready' });
    expect((await gw.call('GET', '/healthz')).status).toBe(200);
  });

  it('idempotency - the same key and body replays the first response', async () => {
    const headers = { 'idempotency-key': 'replay-1' };
    const first = await gw.call('POST', '/v1/probe/slow', { key, body: { ms: 1 }, headers });
    const again = await gw.call('POST', '/v1/probe/slow', { key, body: { ms: 1 }, headers });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
  });

  it('idempotency - the same key with another body is 422, and keys are scoped per credential', async () => {
    const headers = { 'idempotency-key': 'mismatch-1' };
    expect((await gw.call('POST', '/v1/probe/slow', { key, body: { ms: 1 }, headers })).status).toBe(201);
    const other = await gw.call('POST', '/v1/probe/slow', { key, body: { ms: 2 }, headers });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
    const someoneElse = await createTenant(gw);
    const theirs = await gw.call('POST', '/v1/probe/slow', { key: someoneElse.key, body: { ms: 2 }, headers });
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
  });

  it('idempotency - a request still running makes its twin 409; concurrent twins run the work once', async () => {
    const headers = { 'idempotency-key': 'concurrent-1' };
    const before = runs;
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => gw.call('POST', '/v1/probe/slow', { key, body: { ms: 300 }, headers })),
    );
    expect(runs - before).toBe(1);
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(9);
    expect(replies.find((r) => r.status === 409)?.body.code).toBe('conflict');
    const later = await gw.call('POST', '/v1/probe/slow', { key, body: { ms: 300 }, headers });
    expect(later.status).toBe(201);
    expect(later.headers.get('idempotent-replayed')).toBe('true');
  });

  it('idempotency - an invalid request is not stored, so the fixed request may reuse the key; errors are replayed', async () => {
    const headers = { 'idempotency-key': 'fix-me' };
    expect((await gw.call('POST', '/v1/probe/slow', { key, body: { ms: 'soon' }, headers })).status).toBe(400);
    expect((await gw.call('POST', '/v1/probe/slow', { key, body: { ms: 1 }, headers })).status).toBe(201);

    const failing = { 'idempotency-key': 'fails' };
    const first = await gw.call('POST', '/v1/probe/slow', { key, body: { ms: 1, fail: true }, headers: failing });
    expect(first.status).toBe(409);
    const replay = await gw.call('POST', '/v1/probe/slow', { key, body: { ms: 1, fail: true }, headers: failing });
    expect(replay.status).toBe(409);
    expect(replay.body).toEqual(first.body);
    expect(replay.body.availableSlots).toBe(0);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });

  it('idempotency - a retry after a 503 runs once more, and never while the first run is still going', async () => {
    const headers = { 'idempotency-key': 'after-503' };
    // The first attempt takes 1 s and answers 503; its lock (300 ms) would lapse three times over.
    const body = { ms: 1000 };
    const first = gw.call('POST', '/v1/probe/flaky', { key, body, headers });
    await new Promise((r) => setTimeout(r, 700));
    const early = await gw.call('POST', '/v1/probe/flaky', { key, body, headers });
    expect(early.status).toBe(409);
    expect((await first).status).toBe(503);
    // The 503 was not stored: the retry runs, and its success is what is replayed from now on.
    const retry = await gw.call('POST', '/v1/probe/flaky', { key, body, headers });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    const again = await gw.call('POST', '/v1/probe/flaky', { key, body, headers });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(retry.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(flakyRuns).toBe(2);
    expect(mostAtOnce).toBe(1);
  });

  it('idempotency - a key longer than 255 characters is 400', async () => {
    const res = await gw.call('POST', '/v1/probe/slow', { key, body: { ms: 1 }, headers: { 'idempotency-key': 'k'.repeat(256) } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('Idempotency-Key');
  });
});

describe('gateway rate limit', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ RATE_LIMIT_PER_SECOND: '5', RATE_LIMIT_BURST: '5' });
  });
  afterAll(() => gw.stop());

  it('rate limit - past the burst a credential gets 429 with Retry-After and RateLimit headers; others are unaffected', async () => {
    const { key } = await createTenant(gw);
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await gw.call('GET', '/v1/api-keys', { key }));
    expect(replies.slice(0, 5).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(replies[0]!.headers.get('ratelimit-policy')).toBe('"per-credential";q=5;w=1');
    expect(replies[0]!.headers.get('ratelimit')).toMatch(/^"per-credential";r=4;t=\d+$/);
    const limited = replies[5]!;
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('ratelimit')).toMatch(/r=0/);

    const other = await createTenant(gw);
    expect((await gw.call('GET', '/v1/api-keys', { key: other.key })).status).toBe(200);
  });
});

/**
 * POSTs a JSON body in `chunks` with `Transfer-Encoding: chunked` (no `Content-Length`), a chunk
 * at a time, and stops sending once the answer arrives.
 */
function chunked(base: string, path: string, key: string, chunks: Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (part) => {
        body += part;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const send = async () => {
      for (const chunk of chunks) {
        if (answered) return;
        await new Promise<void>((done) => req.write(chunk, () => done()));
      }
      req.end();
    };
    void send().catch(() => {});
  });
}
