import type { ChildProcess } from 'node:child_process';
import { eventStream, eventSubject, notificationsRpc } from '@allot/contracts';
import { RpcClient } from '@allot/kit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, type Stack, startServiceProcess, startStack } from './stack';

const users = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** `notification.created` events of a tenant on the notifications stream. */
async function announced(natsUrl: string, tenantId: string): Promise<number> {
  const nc = await connect({ servers: natsUrl });
  try {
    await jetstreamManager(nc);
    const consumer = await jetstream(nc).consumers.get(eventStream('notifications'), {
      filter_subjects: [eventSubject('notifications', tenantId, 'notification.created')],
    });
    return (await consumer.info()).num_pending;
  } finally {
    await nc.close();
  }
}

describe('bulk sends', () => {
  let stack: Stack;
  let child: ChildProcess | undefined;
  let mongo: MongoClient;
  let db: Db;
  // Small batches and a short lease, so a kill lands mid-job and the restart resumes it soon.
  const env = { BULK_BATCH_SIZE: '250', BULK_LEASE_MS: '2000', BULK_SWEEP_MS: '100' };

  beforeAll(async () => {
    stack = await startStack({ gateway: { RPC_TIMEOUT_MS: '5000' } });
    child = await startServiceProcess(stack, 'notifications', env);
    mongo = await new MongoClient(inject('mongoUrl')).connect();
    db = mongo.db(stack.notificationsDb);
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await mongo.close();
    await stack.stop();
  });

  const progress = async (key: string, jobId: string) => (await stack.as(key)('GET', `/v1/notifications/bulk/${jobId}`)).body;
  const completed = (key: string, jobId: string) =>
    eventually(async () => {
      const job = await progress(key, jobId);
      return job.status === 'completed' && job;
    }, 60_000);

  /** Restarts the service with these settings (e.g. a sweep so slow that nothing is sent until the next restart). */
  async function restart(settings: NodeJS.ProcessEnv) {
    child?.kill('SIGKILL');
    if (child && child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child?.once('exit', resolve));
    child = await startServiceProcess(stack, 'notifications', settings);
  }
  /** The sender never starts within a test: sends stay queued until the next restart. */
  const paused = { ...env, BULK_SWEEP_MS: '600000' };

  /** Every recipient of the job holds exactly one of its notifications. */
  async function perRecipient(jobId: string) {
    const counts = await db
      .collection('notifications')
      .aggregate<{ _id: string; n: number }>([{ $match: { source: `bulk:${jobId}` } }, { $group: { _id: '$recipient', n: { $sum: 1 } } }])
      .toArray();
    return { recipients: counts.length, most: Math.max(...counts.map((c) => c.n)) };
  }

  it('bulk - 10,000 users: one notification each, exact counts; an Idempotency-Key retry returns the same job; bad input writes nothing', async () => {
    const { key, tenantId } = await stack.newTenant();
    const admin = stack.as(key);
    const userIds = users(10_000, 'member');
    const body = { userIds, type: 'announcement', title: 'Maintenance', message: 'Down at 02:00 UTC.' };

    const bad = await admin('POST', '/v1/notifications/bulk', { ...body, userIds: [], type: 'gossip' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['type', 'userIds']);
    expect(await db.collection('bulkJobs').countDocuments({ tenantId })).toBe(0);
    expect((await stack.as(await stack.userToken(key, 'member-1'))('POST', '/v1/notifications/bulk', body)).status).toBe(403);

    const headers = { 'idempotency-key': `bulk-${tenantId}` };
    const accepted = await admin('POST', '/v1/notifications/bulk', body, headers);
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ status: 'queued', total: 10_000, sent: 0, failed: 0 });
    const replay = await admin('POST', '/v1/notifications/bulk', body, headers);
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.jobId).toBe(accepted.body.jobId);

    const job = await completed(key, accepted.body.jobId);
    expect(job).toEqual({
      jobId: accepted.body.jobId,
      status: 'completed',
      total: 10_000,
      sent: 10_000,
      failed: 0,
      createdAt: accepted.body.createdAt,
      finishedAt: expect.any(String),
    });
    expect(await db.collection('bulkJobs').countDocuments({ tenantId })).toBe(1);
    expect(await perRecipient(job.jobId)).toEqual({ recipients: 10_000, most: 1 });
    const member = await stack.as(await stack.userToken(key, 'member-9999'))('GET', '/v1/notifications');
    expect(member.body).toMatchObject({ unreadCount: 1, items: [{ type: 'announcement', title: 'Maintenance', severity: 'info' }] });
    await eventually(async () => (await announced(stack.natsUrl, tenantId)) === 10_000);

    const other = await stack.newTenant();
    expect((await stack.as(other.key)('GET', `/v1/notifications/bulk/${job.jobId}`)).status).toBe(404);
  }, 120_000);

  it('bulk - SIGKILL mid-job, then a restart: the job finishes and nobody is notified twice', async () => {
    const { key, tenantId } = await stack.newTenant();
    const accepted = await stack.as(key)('POST', '/v1/notifications/bulk', {
      userIds: users(10_000, 'guest'),
      type: 'alert',
      title: 'Storm warning',
      message: 'Tours are cancelled this afternoon.',
    });
    expect(accepted.status).toBe(202);
    const midway = await eventually(async () => {
      const job = await progress(key, accepted.body.jobId);
      return job.sent > 0 && job;
    }, 30_000);
    child?.kill('SIGKILL');
    await new Promise((resolve) => child?.once('exit', resolve));
    expect(midway.sent).toBeLessThan(10_000);
    const stored = await db.collection('notifications').countDocuments({ source: `bulk:${accepted.body.jobId}` });
    expect(stored).toBeLessThan(10_000);

    child = await startServiceProcess(stack, 'notifications', env);
    const job = await completed(key, accepted.body.jobId);
    expect(job).toMatchObject({ total: 10_000, sent: 10_000, failed: 0 });
    expect(await perRecipient(job.jobId)).toEqual({ recipients: 10_000, most: 1 });
    // Announced once per notification too: a batch announced again after the restart is dropped as a duplicate.
    await eventually(async () => (await announced(stack.natsUrl, tenantId)) === 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(await announced(stack.natsUrl, tenantId)).toBe(10_000);
  }, 120_000);

  it('bulk - quota: the bytes of one send and the sends and recipients a tenant has queued are bounded; a refusal writes nothing; finished sends free the quota', async () => {
    await restart(paused);
    const { key, tenantId } = await stack.newTenant();
    const admin = stack.as(key);
    const send = (userIds: string[]) =>
      admin('POST', '/v1/notifications/bulk', { userIds, type: 'reminder', title: 'Soon', message: 'See you.' });
    const jobs = () => db.collection('bulkJobs').countDocuments({ tenantId });
    const batches = () => db.collection('bulkBatches').countDocuments({ tenantId });

    const defaults = (await admin('GET', '/v1/limits')).body;
    expect(defaults).toMatchObject({
      maxQueuedBulkSends: 10,
      maxQueuedBulkRecipients: 50_000,
      maxBulkSendBytes: 384 * 1024,
      maxPartySize: 50,
    });
    expect((await stack.as(await stack.userToken(key, 'u'))('PATCH', '/v1/limits', { maxQueuedBulkSends: 1000 })).status).toBe(403);
    expect((await admin('PATCH', '/v1/limits', { maxBulkSendBytes: 2 * 1024 * 1024 })).status).toBe(400);
    const limits = await admin('PATCH', '/v1/limits', { maxQueuedBulkSends: 2, maxQueuedBulkRecipients: 300, maxBulkSendBytes: 4096 });
    expect(limits.body).toEqual({ ...defaults, maxQueuedBulkSends: 2, maxQueuedBulkRecipients: 300, maxBulkSendBytes: 4096 });

    const large = await send(users(150, 'a-rather-long-recipient-identifier'));
    expect(large.status).toBe(400);
    expect(large.body).toMatchObject({ code: 'validation_failed', limit: 'maxBulkSendBytes', maxBulkSendBytes: 4096 });

    expect((await send(users(200, 'first'))).status).toBe(202);
    const tooMany = await send(users(101, 'second'));
    expect(tooMany.status).toBe(429);
    expect(tooMany.body).toMatchObject({ code: 'quota_exceeded', limit: 'maxQueuedBulkRecipients', queuedRecipients: 200, queuedSends: 1 });
    expect((await send(users(100, 'second'))).status).toBe(202);
    const third = await send(users(1, 'third'));
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ code: 'quota_exceeded', limit: 'maxQueuedBulkSends', queuedSends: 2 });
    expect(await jobs()).toBe(2);
    expect(await batches()).toBe(2);

    // Once they are sent, the tenant may queue again.
    await restart(env);
    const listed = await db.collection('bulkJobs').find({ tenantId }).toArray();
    for (const job of listed) await completed(key, job._id as unknown as string);
    // A send is marked completed, then its quota given back (a second write): wait for that one.
    const tenantDoc = () => db.collection<{ _id: string; queuedSends: number }>('bulkTenants').findOne({ _id: tenantId });
    await eventually(async () => (await tenantDoc())?.queuedSends === 0);
    expect((await send(users(300, 'later'))).status).toBe(202);
  }, 120_000);

  it('bulk - idempotency: the same Idempotency-Key through the gateway, or the same request id on the RPC (the gateway retrying after losing its record), makes one send, counted once', async () => {
    await restart(paused);
    const { key, tenantId } = await stack.newTenant();
    const admin = stack.as(key);
    expect((await admin('PATCH', '/v1/limits', { maxQueuedBulkSends: 2 })).status).toBe(200);
    const body = { userIds: users(30, 'once'), type: 'announcement' as const, title: 'Once', message: 'Only once.' };

    const headers = { 'idempotency-key': `once-${tenantId}` };
    const first = await admin('POST', '/v1/notifications/bulk', body, headers);
    const again = await admin('POST', '/v1/notifications/bulk', body, headers);
    expect(first.status).toBe(202);
    expect(again.body.jobId).toBe(first.body.jobId);

    const nc = await connect({ servers: stack.natsUrl });
    try {
      const rpc = new RpcClient(nc);
      const call = () =>
        rpc.call('notifications', 'bulk.create', notificationsRpc['bulk.create'], body, {
          tenantId,
          actor: { kind: 'apiKey', keyId: 'k_test' },
          idempotencyKey: 'same-request',
        });
      const [a, b] = await Promise.all([call(), call()]);
      const c = await call();
      expect(b.jobId).toBe(a.jobId);
      expect(c.jobId).toBe(a.jobId);
      expect(a.jobId).not.toBe(first.body.jobId);
    } finally {
      await nc.drain();
    }
    expect(await db.collection('bulkJobs').countDocuments({ tenantId })).toBe(2);
    // Each send took one place in the quota however often it was asked for.
    expect(await db.collection('bulkTenants').findOne({ _id: tenantId as never })).toMatchObject({ queuedSends: 2, queuedRecipients: 60 });

    await restart(env);
    for (const job of await db.collection('bulkJobs').find({ tenantId }).toArray()) {
      expect(await completed(key, job._id as unknown as string)).toMatchObject({ total: 30, sent: 30 });
      expect(await perRecipient(job._id as unknown as string)).toEqual({ recipients: 30, most: 1 });
    }
    expect(await db.collection('bulkTenants').findOne({ _id: tenantId as never })).toMatchObject({ queuedSends: 0, queuedRecipients: 0 });
  }, 120_000);

  it("bulk - fairness: tenants take turns, so a small send finishes before another tenant's large backlog, not after it", async () => {
    await restart(paused);
    const a = await stack.newTenant();
    const b = await stack.newTenant();
    const send = (key: string, userIds: string[]) =>
      stack.as(key)('POST', '/v1/notifications/bulk', { userIds, type: 'announcement', title: 'News', message: 'Read all about it.' });
    // Both are queued before the sender starts: A's five sends of four batches each first, then B's one batch.
    const backlog: string[] = [];
    for (let n = 0; n < 5; n++) backlog.push((await send(a.key, users(1000, `a${n}`))).body.jobId);
    const small = (await send(b.key, users(5, 'b'))).body.jobId;

    await restart(env);
    const smallDone = await completed(b.key, small);
    const backlogDone = [];
    for (const jobId of backlog) backlogDone.push(await completed(a.key, jobId));
    // Served in turn, B's send finished while A's first send still had batches to go.
    for (const job of backlogDone) expect(smallDone.finishedAt < job.finishedAt).toBe(true);
  }, 120_000);

  it('bulk - a send stored by the version before quotas (no place in any backlog) is still sent after an upgrade', async () => {
    await restart(paused);
    const { key, tenantId } = await stack.newTenant();
    const at = new Date().toISOString();
    const jobId = `job_legacy${tenantId.slice(-8)}`;
    await db.collection('bulkBatches').insertOne({ _id: `${jobId}:0` as never, tenantId, jobId, userIds: users(3, 'legacy') });
    await db.collection('bulkJobs').insertOne({
      _id: jobId as never,
      tenantId,
      status: 'queued',
      total: 3,
      sent: 0,
      failed: 0,
      type: 'announcement',
      title: 'Old',
      message: 'Stored before the upgrade.',
      batches: 1,
      nextBatch: 0,
      leaseUntil: at,
      attempts: 0,
      error: null,
      createdAt: at,
      updatedAt: at,
    });
    await restart(env);
    expect(await completed(key, jobId)).toMatchObject({ total: 3, sent: 3, failed: 0 });
    expect(await perRecipient(jobId)).toEqual({ recipients: 3, most: 1 });
  }, 60_000);
});
