import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../src/clock';
import type { JetStreamDeps } from '../src/consumer';
import { JobScheduler, runJobs } from '../src/jobs';
import { ensureStream, jobStreamConfig } from '../src/streams';
import { eventually, testLogger, testNats, uniqueName } from '../src/testing';

describe('delayed jobs', () => {
  let conn: Awaited<ReturnType<typeof testNats>>;
  const service = uniqueName('svc').toLowerCase();
  let deps: JetStreamDeps;
  let scheduler: JobScheduler;

  beforeAll(async () => {
    conn = await testNats();
    await ensureStream(conn.jsm, jobStreamConfig(service));
    deps = { js: conn.js, jsm: conn.jsm, log: testLogger(), service };
    scheduler = new JobScheduler(conn.js, service);
  });
  afterAll(() => conn.close());

  it('jobs - a delayed job does not fire early and survives a restart of its runner', async () => {
    const fired: { id: string; at: number }[] = [];
    const handler = async (_payload: unknown, job: { id: string }) => {
      fired.push({ id: job.id, at: Date.now() });
    };
    const dueAt = new Date(Date.now() + 2000);
    await scheduler.schedule('expire', 'hold-1', dueAt, { holdId: 'hold-1' });

    const first = await runJobs(deps, scheduler, { kind: 'expire', clock: systemClock, handler });
    await new Promise((r) => setTimeout(r, 500));
    await first.stop(); // the process "dies" before the job is due

    const second = await runJobs(deps, scheduler, { kind: 'expire', clock: systemClock, handler });
    await eventually(() => fired.length > 0, 10_000);
    await second.stop();
    expect(fired).toHaveLength(1);
    expect(fired[0]!.at).toBeGreaterThanOrEqual(dueAt.getTime());
  });

  it('jobs - scheduling the same job twice runs it once', async () => {
    const fired: string[] = [];
    const dueAt = new Date(Date.now() + 200);
    await scheduler.schedule('dedupe', 'job-1', dueAt, {});
    await scheduler.schedule('dedupe', 'job-1', dueAt, {});
    await scheduler.schedule('dedupe', 'job-2', dueAt, {});
    const runner = await runJobs(deps, scheduler, {
      kind: 'dedupe',
      clock: systemClock,
      handler: async (_p, job) => {
        fired.push(job.id);
      },
    });
    await eventually(() => fired.includes('job-2'));
    await new Promise((r) => setTimeout(r, 300));
    await runner.stop();
    expect(fired.sort()).toEqual(['job-1', 'job-2']);
  });

  it('jobs - a failing job is retried with backoff as a new attempt', async () => {
    const attempts: number[] = [];
    const runner = await runJobs(deps, scheduler, {
      kind: 'flaky',
      clock: systemClock,
      backoffMs: [200],
      handler: async (_p, job) => {
        attempts.push(job.attempt);
        if (job.attempt < 3) throw new Error('not yet');
      },
    });
    await scheduler.schedule('flaky', 'job-f', new Date(), {});
    await eventually(() => attempts.length >= 3);
    await runner.stop();
    expect(attempts).toEqual([1, 2, 3]);
  });
});
