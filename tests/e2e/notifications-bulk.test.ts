import type { ChildProcess } from 'node:child_process';
import { eventStream, eventSubject } from '@allot/contracts';
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
    expect(job).toEqual({ jobId: accepted.body.jobId, status: 'completed', total: 10_000, sent: 10_000, failed: 0 });
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
});
