import { AppError, rpc } from '@allot/contracts';
import { freePort } from '@allot/local-servers';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { assertBeforeDeadline, RpcClient, RpcServer } from '../src/rpc';
import { testLogger, testNats } from '../src/testing';

const add = rpc('adds two numbers', z.strictObject({ a: z.number().int(), b: z.number().int() }), z.object({ sum: z.number() }));
const slow = rpc('never answers in time', z.object({}), z.object({}));
const failing = rpc('raises a domain error', z.object({}), z.object({}));
const stored = rpc('writes to its database', z.object({}), z.object({}));
const sized = rpc('answers a text of the size asked for', z.object({ bytes: z.number().int() }), z.object({ text: z.string() }));

describe('rpc', () => {
  let conn: Awaited<ReturnType<typeof testNats>>;
  let server: RpcServer;
  let client: RpcClient;
  const call = { tenantId: 't_1', actor: { kind: 'apiKey', keyId: 'k_1' } } as const;
  let lateWrites = 0;
  let slowAnswers = 0;
  let mongo: MongoClient;

  beforeAll(async () => {
    conn = await testNats();
    // A database nobody listens at: every operation fails to reach it.
    mongo = new MongoClient(`mongodb://127.0.0.1:${await freePort()}/`, { serverSelectionTimeoutMS: 300 });
    // The "notifications" subjects are used only by this file's test server.
    server = new RpcServer(conn.nc, 'notifications', testLogger())
      .add('test-add', add, async ({ a, b }, ctx) => {
        expect(ctx.tenantId).toBe('t_1');
        return { sum: a + b };
      })
      .add('test-slow', slow, async () => {
        await new Promise((r) => setTimeout(r, 2000));
        slowAnswers++;
        return {};
      })
      .add('test-late-write', slow, async () => {
        await new Promise((r) => setTimeout(r, 400)); // e.g. queued behind other writes
        assertBeforeDeadline();
        lateWrites++;
        return {};
      })
      .add('test-stored', stored, async () => {
        await mongo.db('rpc').collection('docs').insertOne({});
        return {};
      })
      .add('test-sized', sized, async ({ bytes }) => ({ text: 'x'.repeat(bytes) }))
      .add('test-fail', failing, async () => {
        throw new AppError('capacity_exhausted', 'No slots left', { availableSlots: 0 });
      });
    client = new RpcClient(conn.nc, 5000);
  });
  afterAll(async () => {
    await server.stop();
    await conn.close();
    await mongo.close();
  });

  it('rpc - round trip returns the handler result', async () => {
    await expect(client.call('notifications', 'test-add', add, { a: 2, b: 3 }, call)).resolves.toEqual({ sum: 5 });
  });

  it('rpc - a tenant-scoped operation called without a tenant is forbidden before its handler runs', async () => {
    const rootCall = { tenantId: null, actor: { kind: 'root' } } as const;
    const error = await client.call('notifications', 'test-add', add, { a: 1, b: 1 }, rootCall).catch((e) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('forbidden');
  });

  it('rpc - invalid input is rejected with validation_failed naming each field', async () => {
    const error = await client.call('notifications', 'test-add', add, { a: 'two', b: 3, c: 1 } as never, call).catch((e) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('validation_failed');
    const paths = (error.details.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(['a', 'c']);
  });

  it('rpc - a domain error arrives as the same typed error with its details', async () => {
    const error = await client.call('notifications', 'test-fail', failing, {}, call).catch((e) => e);
    expect(error).toMatchObject({ code: 'capacity_exhausted', details: { availableSlots: 0 } });
  });

  it('rpc - a handler whose database cannot be reached answers upstream_unavailable (a fault with an unknown outcome), not internal', async () => {
    const error = await client.call('notifications', 'test-stored', stored, {}, call).catch((e) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('upstream_unavailable');
  });

  it('rpc - an absent service fails with upstream_unavailable at once (no responders), not at the deadline', async () => {
    const error = await client.call('capacity', 'nobody-serves-this', add, { a: 1, b: 1 }, { ...call, timeoutMs: 60_000 }).catch((e) => e);
    expect(error).toMatchObject({ code: 'upstream_unavailable', message: 'The capacity service is not available' });
  });

  it('rpc - a service slower than the deadline fails with upstream_unavailable at the deadline, not when it answers', async () => {
    const before = slowAnswers;
    const error = await client.call('notifications', 'test-slow', slow, {}, { ...call, timeoutMs: 300 }).catch((e) => e);
    expect(error).toMatchObject({ code: 'upstream_unavailable', message: 'The notifications service did not answer in time' });
    expect(slowAnswers).toBe(before); // the caller gave up while the handler was still working
  });

  it('rpc - work that would happen after the caller gave up is not done', async () => {
    const error = await client.call('notifications', 'test-late-write', slow, {}, { ...call, timeoutMs: 200 }).catch((e) => e);
    expect(error).toMatchObject({ code: 'upstream_unavailable' });
    await new Promise((r) => setTimeout(r, 400));
    expect(lateWrites).toBe(0);
    await expect(client.call('notifications', 'test-late-write', slow, {}, { ...call, timeoutMs: 2000 })).resolves.toEqual({});
    expect(lateWrites).toBe(1);
  });

  it('rpc - an answer larger than the server carries is refused with answer_too_large, and the server keeps answering', async () => {
    const maxPayload = conn.nc.info?.max_payload ?? 0;
    expect(maxPayload).toBeGreaterThan(0);
    const error = await client.call('notifications', 'test-sized', sized, { bytes: maxPayload + 1 }, call).catch((e) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'answer_too_large', status: 422, details: { maxBytes: maxPayload } });
    await expect(client.call('notifications', 'test-sized', sized, { bytes: 1000 }, call)).resolves.toEqual({ text: 'x'.repeat(1000) });
    await expect(client.call('notifications', 'test-add', add, { a: 1, b: 2 }, call)).resolves.toEqual({ sum: 3 });
  });

  it('rpc - a request larger than the server carries is refused at once as validation_failed, not as an unavailable service', async () => {
    const maxPayload = conn.nc.info?.max_payload ?? 0;
    const error = await client
      .call('notifications', 'test-sized', sized, { bytes: 1, pad: 'x'.repeat(maxPayload) } as never, call)
      .catch((e) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'validation_failed', details: { errors: [{ path: '(body)' }] } });
  });
});
