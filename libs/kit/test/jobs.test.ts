import { jobStream, jobSubject } from '@allot/contracts';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { systemClock } from '../src/clock';
import { consume, type DeadLetter, type JetStreamDeps } from '../src/consumer';
import { redeliver } from '../src/dead-letters';
import { defineJob, JobScheduler, jobIndexes, runJobs } from '../src/jobs';
import { ensureIndexes } from '../src/mongo';
import { assertBeforeDeadline, withDeadline } from '../src/rpc';
import { deadLetterStreamConfig, ensureStream, jobStreamConfig } from '../src/streams';
import { eventually, testLogger, testNats, uniqueName } from '../src/testing';

/** A kind whose payload these tests do not look at. */
const kind = (name: string) => defineJob(name, z.looseObject({}));

describe('delayed jobs', () => {
  let conn: Awaited<ReturnType<typeof testNats>>;
  let mongo: MongoClient;
  const service = uniqueName('svc').toLowerCase();
  let deps: JetStreamDeps;
  let scheduler: JobScheduler;
  const runner = (options: Omit<Parameters<typeof runJobs>[2], 'clock'>) => runJobs(deps, scheduler, { clock: systemClock, ...options });

  beforeAll(async () => {
    conn = await testNats();
    mongo = await new MongoClient(inject('mongoUrl')).connect();
    const db = mongo.db(service);
    await ensureIndexes(db, jobIndexes);
    await ensureStream(conn.jsm, jobStreamConfig(service));
    await ensureStream(conn.jsm, deadLetterStreamConfig);
    deps = { js: conn.js, jsm: conn.jsm, log: testLogger(), service };
    scheduler = new JobScheduler(db);
  });
  afterAll(async () => {
    await mongo.close();
    await conn.close();
  });

  it('jobs - a delayed job does not fire early and survives a restart of its runner', async () => {
    const fired: { id: string; at: number }[] = [];
    const handler = async (_payload: unknown, job: { id: string }) => {
      fired.push({ id: job.id, at: Date.now() });
    };
    const dueAt = new Date(Date.now() + 2000);
    await scheduler.schedule(kind('expire'), { id: 'hold-1', tenantId: null, dueAt: dueAt, payload: { holdId: 'hold-1' } });

    const first = await runner({ kind: 'expire', handler });
    await new Promise((r) => setTimeout(r, 500));
    await first.stop(); // the process "dies" before the job is due

    const second = await runner({ kind: 'expire', handler });
    await eventually(() => fired.length > 0, 10_000);
    await second.stop();
    expect(fired).toHaveLength(1);
    expect(fired[0]!.at).toBeGreaterThanOrEqual(dueAt.getTime());
  });

  it('jobs - one handle schedules and runs a kind: the payload is checked by the compiler, and by the schema when it runs', async () => {
    const expire = defineJob('typed', z.object({ holdId: z.string(), minutes: z.coerce.number() }));
    // @ts-expect-error a payload of another shape does not compile
    const wrong = () => scheduler.schedule(expire, { id: 'never', tenantId: null, dueAt: new Date(), payload: { bookingId: 'b' } });
    expect(wrong).toBeTypeOf('function');

    const seen: { holdId: string; minutes: number }[] = [];
    const { kind: name, options, run } = expire.handle(async (payload) => void seen.push(payload));
    const running = await runner({ ...options, kind: name, handler: run });
    await scheduler.schedule(expire, { id: 'hold-7', tenantId: null, dueAt: new Date(), payload: { holdId: 'hold-7', minutes: '5' } });
    await eventually(() => seen.length > 0);
    await running.stop();
    expect(seen).toEqual([{ holdId: 'hold-7', minutes: 5 }]); // parsed by the schema before the handler ran
  });

  it("jobs - a job scheduled by a request runs without that request's deadline, however long after it ran out", async () => {
    const outcomes: string[] = [];
    const late = defineJob('after-deadline', z.object({}));
    const {
      kind: name,
      options,
      run,
    } = late.handle(async () => {
      try {
        assertBeforeDeadline(); // what a ledger write checks before it applies a change
        outcomes.push('ran');
      } catch (error) {
        outcomes.push((error as Error).message);
      }
    });
    const running = await runner({ ...options, kind: name, handler: run });
    // Scheduled inside a request whose deadline has already passed: its timer is set in that context.
    await withDeadline(Date.now() - 1, () =>
      scheduler.schedule(late, { id: 'late-1', tenantId: null, dueAt: new Date(Date.now() + 50), payload: {} }),
    );
    await eventually(() => outcomes.length > 0);
    await running.stop();
    expect(outcomes).toEqual(['ran']);
  });

  it('jobs - a job out of attempts is dead-lettered under its tenant with an id fit for a URL, then told to what waited on it; each retry that fails is recorded again', async () => {
    let failing = true;
    const ran: string[] = [];
    const givenUp: unknown[] = [];
    const running = await runner({
      kind: 'gives-up',
      maxAttempts: 2,
      backoffMs: [50],
      handler: async (_p, job) => {
        if (failing) throw new Error('supplier down');
        ran.push(job.id);
      },
      onGiveUp: async (payload, letter) => void givenUp.push({ payload, letter }),
    });
    await scheduler.schedule(kind('gives-up'), {
      id: 'ord_1:check:2',
      tenantId: 't_jobs',
      dueAt: new Date(),
      payload: { orderId: 'ord_1' },
    });
    const letters = await conn.js.consumers.get(deadLetterStreamConfig.name, { filter_subjects: [`dlq.${service}.jobs-gives-up`] });
    const next = () => eventually(async () => (await letters.next({ expires: 1000 }))?.json<DeadLetter>());
    const letter = await next();
    expect(letter).toMatchObject({ tenantId: 't_jobs', consumer: 'jobs-gives-up', error: 'supplier down', deliveries: 2 });
    expect(letter.id).toMatch(/^[A-Za-z0-9_-]{1,200}$/);
    await eventually(() => givenUp.length === 1);
    expect(givenUp).toEqual([{ payload: { orderId: 'ord_1' }, letter: { deadLetterId: letter.id, error: 'supplier down' } }]);

    await redeliver(conn.js, letter, 'retry-1'); // fails again: a second record under the same id
    expect(await next()).toMatchObject({ id: letter.id, tenantId: 't_jobs' });
    failing = false;
    await redeliver(conn.js, letter, 'retry-2');
    await eventually(() => ran.length > 0);
    await running.stop();
    expect(ran).toEqual(['ord_1:check:2']);
  });

  it('jobs - a dead letter retried while its job is still being given up runs, rather than being removed with it', async () => {
    let failing = true;
    const ran: string[] = [];
    let release = () => {};
    const givingUp = new Promise<void>((r) => {
      release = r;
    });
    const running = await runner({
      kind: 'retried-early',
      maxAttempts: 1,
      handler: async (_p, job) => {
        if (failing) throw new Error('supplier down');
        ran.push(job.id);
      },
      onGiveUp: () => givingUp, // the last attempt is still finishing: its document is not removed yet
    });
    await scheduler.schedule(kind('retried-early'), { id: 'early-1', tenantId: 't_jobs', dueAt: new Date(), payload: {} });
    const letters = await conn.js.consumers.get(deadLetterStreamConfig.name, { filter_subjects: [`dlq.${service}.jobs-retried-early`] });
    const letter = await eventually(async () => (await letters.next({ expires: 1000 }))?.json<DeadLetter>());

    failing = false;
    await redeliver(conn.js, letter, 'retry-1');
    // The retry has reached the runner before the give-up ends.
    await eventually(async () => (await conn.jsm.consumers.info(jobStream(service), 'jobs-retried-early')).delivered.consumer_seq > 0);
    release();
    await eventually(() => ran.length > 0);
    await running.stop();
    expect(ran).toEqual(['early-1']);
  });

  it("jobs - a consumer started inside a request handles its messages under deadlines of its own, not the request's", async () => {
    const subject = `${jobSubject(service, 'redeliver')}.own-deadline`;
    const outcomes: string[] = [];
    // Started by a request whose deadline has already passed: its loop runs in that context.
    const running = await withDeadline(Date.now() - 1, () =>
      consume(deps, { stream: jobStream(service), durable: 'own-deadline', filterSubjects: [subject], maxDeliver: 1 }, async (msg) => {
        try {
          assertBeforeDeadline();
          outcomes.push('ran');
        } catch (error) {
          outcomes.push((error as Error).message);
        }
        msg.ack();
      }),
    );
    await conn.js.publish(subject, '{}');
    await eventually(() => outcomes.length > 0);
    await running.stop();
    expect(outcomes).toEqual(['ran']);
  });

  it('jobs - scheduling the same job twice runs it once', async () => {
    const fired: string[] = [];
    const dueAt = new Date(Date.now() + 200);
    await scheduler.schedule(kind('dedupe'), { id: 'job-1', tenantId: null, dueAt: dueAt, payload: {} });
    await scheduler.schedule(kind('dedupe'), { id: 'job-1', tenantId: null, dueAt: dueAt, payload: {} });
    await scheduler.schedule(kind('dedupe'), { id: 'job-2', tenantId: null, dueAt: dueAt, payload: {} });
    const running = await runner({
      kind: 'dedupe',
      handler: async (_p, job) => {
        fired.push(job.id);
      },
    });
    await eventually(() => fired.includes('job-2'));
    await new Promise((r) => setTimeout(r, 300));
    await running.stop();
    expect(fired.sort()).toEqual(['job-1', 'job-2']);
  });

  it('jobs - a failing job is retried with backoff as a new attempt', async () => {
    const attempts: number[] = [];
    const running = await runner({
      kind: 'flaky',
      backoffMs: [200],
      handler: async (_p, job) => {
        attempts.push(job.attempt);
        if (job.attempt < 3) throw new Error('not yet');
      },
    });
    await scheduler.schedule(kind('flaky'), { id: 'job-f', tenantId: null, dueAt: new Date(), payload: {} });
    await eventually(() => attempts.length >= 3);
    await running.stop();
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('jobs - a job taken over from a runner that died is retried after its backoff, not left to the next look for overdue jobs', async () => {
    // Scheduled, then its runner died: the next runner finds it overdue. Overdue jobs are only
    // looked for past an hour's grace here, so the retry runs only if this runner times it.
    await scheduler.schedule(kind('orphan'), { id: 'job-o', tenantId: null, dueAt: new Date(Date.now() - 2 * 3600_000), payload: {} });
    const attempts: number[] = [];
    const running = await runner({
      kind: 'orphan',
      backoffMs: [50],
      pollMs: 50,
      graceMs: 3600_000,
      handler: async (_p, job) => {
        attempts.push(job.attempt);
        if (job.attempt < 2) throw new Error('not yet');
      },
    });
    await eventually(() => attempts.length >= 2);
    await running.stop();
    expect(attempts).toEqual([1, 2]);
  });

  it('jobs - two runners of one kind run each job once', async () => {
    const fired: string[] = [];
    const handler = async (_p: unknown, job: { id: string }) => void fired.push(job.id);
    const runners = [await runner({ kind: 'shared', handler, pollMs: 50 }), await runner({ kind: 'shared', handler, pollMs: 50 })];
    const ids = Array.from({ length: 100 }, (_, i) => `s-${i}`);
    await scheduler.scheduleMany(
      kind('shared'),
      ids.map((id) => ({ id, tenantId: null, dueAt: new Date(Date.now() + 100), payload: {} })),
    );
    await eventually(() => fired.length >= ids.length);
    await new Promise((r) => setTimeout(r, 300));
    for (const r of runners) await r.stop();
    expect(fired.sort()).toEqual([...ids].sort());
  });

  it('jobs - 10,000 pending timers, 1,000 of them a week away: the short ones still fire, none early, and no week-long one', async () => {
    const now = Date.now();
    const week = 7 * 86_400_000;
    await scheduler.scheduleMany(
      kind('offer-expiry'),
      Array.from({ length: 1000 }, (_, i) => ({ id: `offer-${i}`, tenantId: null, dueAt: new Date(now + week + i), payload: {} })),
    );
    // Another kind's thousands of pending jobs must not hold this one back either.
    await scheduler.scheduleMany(
      kind('other-kind'),
      Array.from({ length: 8800 }, (_, i) => ({ id: `other-${i}`, tenantId: null, dueAt: new Date(now + 3_600_000 + i), payload: {} })),
    );
    const lateness: number[] = [];
    const short = await runner({
      kind: 'hold-expiry',
      handler: async (_p, job) => void lateness.push(Date.now() - job.dueAt.getTime()),
    });
    let offersFired = 0;
    const offers = await runner({ kind: 'offer-expiry', handler: async () => void offersFired++ });
    const dueAt = Date.now() + 1500;
    await scheduler.scheduleMany(
      kind('hold-expiry'),
      Array.from({ length: 100 }, (_, i) => ({ id: `hold-${i}`, tenantId: null, dueAt: new Date(dueAt + i * 10), payload: {} })),
    );
    await eventually(() => lateness.length >= 100, 20_000);
    await short.stop();
    await offers.stop();
    // No wall-clock bound (this machine's load decides it): the short ones do not wait behind the long ones.
    expect(lateness).toHaveLength(100);
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(0);
    expect(offersFired).toBe(0);
  }, 60_000);
});
