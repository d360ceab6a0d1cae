import { createHash } from 'node:crypto';
import { jobStream, jobSubject, redeliverySubject } from '@allot/contracts';
import type { JsMsg } from '@nats-io/jetstream';
import type { Collection, Db, Filter, IndexDescription } from 'mongodb';
import { z } from 'zod';
import type { Clock } from './clock';
import { consume, errorText, type JetStreamDeps, jsonOf, publishDeadLetter, type RunningConsumer, tenantOf } from './consumer';
import { defaultBackoffMs } from './event-consumer';
import { GroupCommit } from './group-commit';
import { onlyDuplicateKeys } from './outbox-collection';
import { withDeadline } from './rpc';
import { instruments } from './telemetry';
import { contextFromTraceparent, currentTraceparent, inSpan, SpanKind } from './trace';

/** A job waiting for its due time, in the service's own `jobs` collection. */
export interface JobDoc {
  /** `<kind>:<id>`: scheduling the same job twice keeps the first. */
  _id: string;
  kind: string;
  id: string;
  /** Whose job it is: its dead letter is shown to that tenant's admins (null: the platform's own). */
  tenantId: string | null;
  dueAt: Date;
  attempt: number;
  payload: unknown;
  /** While a runner works on it, until when it is that runner's (a crashed runner's lease runs out). */
  leaseUntil: Date | null;
  traceparent: string | null;
}

export const jobIndexes: Record<string, IndexDescription[]> = { jobs: [{ key: { kind: 1, dueAt: 1 } }] };

export interface ScheduledJob<P = unknown> {
  id: string;
  /** The tenant it is done for, or null for the platform's own work. */
  tenantId: string | null;
  dueAt: Date;
  payload: P;
}

/** What a job's handler is told besides its payload. */
export interface JobInfo {
  id: string;
  dueAt: Date;
  attempt: number;
}

/** How a kind of job is run: attempts, backoff, concurrency, polling (see `JobRunnerOptions`). */
export type JobOptions<P = unknown> = Omit<JobRunnerOptions, 'kind' | 'clock' | 'handler' | 'onGiveUp'> & {
  onGiveUp?(payload: P, letter: GivenUp): Promise<void>;
};

/** A job that ran out of attempts: its dead letter's id and its last error. */
export interface GivenUp {
  deadLetterId: string;
  error: string;
}

/** A kind of job with the handler that runs it, for a service definition's `jobs`. */
export interface JobDefinition {
  kind: string;
  options: JobOptions;
  /** Validates the stored payload against the kind's schema, then runs the handler. */
  run(payload: unknown, job: JobInfo): Promise<void>;
}

/**
 * One kind of durable delayed work: the same handle schedules it (`service.jobs.schedule`) and
 * runs it (`handle`), so a kind's name is written once and its payload is checked by the
 * compiler on both sides — and by its schema when it runs, since it may have been stored by an
 * older version of the code.
 */
export interface JobType<S extends z.ZodType> {
  readonly kind: string;
  readonly payload: S;
  handle(handler: (payload: z.output<S>, job: JobInfo) => Promise<void>, options?: JobOptions<z.output<S>>): JobDefinition;
}

export function defineJob<S extends z.ZodType>(kind: string, payload: S): JobType<S> {
  return {
    kind,
    payload,
    handle: (handler, { onGiveUp, ...options } = {}) => ({
      kind,
      options: { ...options, ...(onGiveUp ? { onGiveUp: (data: unknown, letter: GivenUp) => onGiveUp(payload.parse(data), letter) } : {}) },
      run: (data, job) => handler(payload.parse(data), job),
    }),
  };
}

/**
 * Schedules durable delayed work as documents with a due time. Runners claim a due job
 * atomically (a lease) before running it, so nothing waits in a message broker's pending limit,
 * a week-long job costs nothing until it is due, and kinds never wait for each other.
 * Scheduling the same (kind, id) again is harmless: the first stays.
 */
export class JobScheduler {
  private readonly docs: Collection<JobDoc>;
  private readonly listeners = new Map<string, (jobs: JobDoc[]) => void>();

  constructor(db: Db) {
    this.docs = db.collection<JobDoc>('jobs');
  }

  schedule<S extends z.ZodType>(type: JobType<S>, job: ScheduledJob<z.input<S>>): Promise<void> {
    return this.scheduleMany(type, [job]);
  }

  /** Schedules several jobs of one kind with one write. */
  scheduleMany<S extends z.ZodType>(type: JobType<S>, jobs: ScheduledJob<z.input<S>>[]): Promise<void> {
    return this.scheduleKind(type.kind, jobs);
  }

  /** @internal By kind name: a dead letter re-published for a retry names its kind, not a handle. */
  async scheduleKind(kind: string, jobs: ScheduledJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const traceparent = currentTraceparent();
    const docs: JobDoc[] = jobs.map(({ id, tenantId, dueAt, payload }) => ({
      _id: `${kind}:${id}`,
      kind,
      id,
      tenantId,
      dueAt,
      attempt: 1,
      payload,
      leaseUntil: null,
      traceparent,
    }));
    try {
      await this.docs.insertMany(docs, { ordered: false });
    } catch (error) {
      // Jobs scheduled before keep their first schedule; the others are in.
      if (!onlyDuplicateKeys(error)) throw error;
    }
    this.listeners.get(kind)?.(docs);
  }

  /** @internal The runner of `kind` in this process hears of the jobs it schedules, to run them on time. */
  listen(kind: string, onScheduled: (jobs: JobDoc[]) => void): () => void {
    this.listeners.set(kind, onScheduled);
    return () => this.listeners.delete(kind);
  }

  /** @internal */
  get collection(): Collection<JobDoc> {
    return this.docs;
  }
}

export interface JobRunnerOptions {
  kind: string;
  clock: Clock;
  /** Attempts before the job goes to the dead-letter stream (default 5). */
  maxAttempts?: number;
  backoffMs?: number[];
  /** Jobs run at once by this process (default 16). */
  concurrency?: number;
  /** How often due jobs that no process has a timer for are looked for (default 2 s). */
  pollMs?: number;
  /** How late a job may be before a runner other than the one that timed it takes it (default 5 s). */
  graceMs?: number;
  /** How long a claimed job is this runner's before another may take it over (default 60 s). */
  leaseMs?: number;
  handler(payload: unknown, job: JobInfo): Promise<void>;
  /**
   * Runs once the last attempt's dead letter is written, before the job is removed, so what
   * waited on the job can say so (e.g. an order names the dead letter it waits on). If it throws,
   * the job stays and its end is tried again.
   */
  onGiveUp?(payload: unknown, letter: GivenUp): Promise<void>;
}

/** How soon a retry that met its job's last attempt still finishing is asked again. */
const GIVING_UP_RETRY_MS = 250;

const RetriedJob = z.object({
  id: z.string(),
  tenantId: z.string().nullable().optional(),
  payload: z.unknown(),
  dueAt: z.coerce.date().optional(),
});

/**
 * Runs the jobs of one kind at or after their due time. A job this process schedules runs on a
 * timer of its own at its due time; every `pollMs` the runner also looks for jobs overdue past
 * `graceMs` that nobody ran (their process has gone, or died mid-job). A job is removed once it
 * ran. A failed attempt is rescheduled with backoff; the last one is dead-lettered (consumer
 * `jobs-<kind>`, under its tenant; retrying the dead letter schedules the job again). Each run
 * has its own deadline, its lease, whatever request scheduled it. Handlers must be idempotent:
 * a crash after the work and before the removal runs the job again.
 */
export async function runJobs(deps: JetStreamDeps, scheduler: JobScheduler, options: JobRunnerOptions): Promise<RunningConsumer> {
  const { kind, clock } = options;
  const docs = scheduler.collection;
  const maxAttempts = options.maxAttempts ?? 5;
  const backoff = options.backoffMs ?? defaultBackoffMs;
  const concurrency = options.concurrency ?? 16;
  const pollMs = options.pollMs ?? 2000;
  const leaseMs = options.leaseMs ?? 60_000;
  const graceMs = options.graceMs ?? 5000;
  const timers = new Map<string, NodeJS.Timeout>();
  // Jobs that ran are removed together: on FerretDB a write costs a scan of the collection, so
  // one removal per batch (batches grow while one is written) keeps up with many jobs at once.
  const removals = new GroupCommit<string, void>(async (_kind, ids) => {
    await docs.deleteMany({ _id: { $in: ids } });
    return ids.map(() => undefined);
  });
  const inFlight = new Set<Promise<void>>();
  const removing = new Set<Promise<void>>();
  const waiting: { job: JobDoc; found: boolean }[] = [];
  // Jobs this process runs now: the poll leaves them alone even once they outlast the grace
  // (a timed run holds no lease), so a long job is never started a second time beside itself.
  const active = new Set<string>();
  let stopped = false;

  /** Runs jobs with at most `concurrency` at once; the rest wait their turn. */
  const start = (job: JobDoc, found = false) => {
    if (stopped) return;
    if (inFlight.size >= concurrency) return void waiting.push({ job, found });
    if (active.has(job._id)) return;
    active.add(job._id);
    const done = run(job, found)
      .catch((error) => deps.log.error({ err: error, job: job.id, kind }, 'job runner failed'))
      .finally(() => {
        active.delete(job._id);
        inFlight.delete(done);
        const next = waiting.shift();
        if (next) start(next.job, next.found);
      });
    inFlight.add(done);
  };

  /** A timer for a job this process knows of; a job already timed here is left as it is. */
  const time = (job: JobDoc) => {
    if (timers.has(job._id) || stopped) return;
    const wait = Math.min(job.dueAt.getTime() - clock.now().getTime(), 2 ** 31 - 1);
    timers.set(
      job._id,
      setTimeout(
        () => {
          timers.delete(job._id);
          start(job);
        },
        Math.max(0, wait),
      ),
    );
  };

  /**
   * Runs a job. One this process timed runs at once (one write per job: its removal); one found
   * by the poll — overdue past the grace, so its own process is gone or stuck — is claimed with a
   * lease first, so pollers of several processes run it once.
   */
  const run = async (job: JobDoc, found: boolean) => {
    const now = clock.now();
    if (job.dueAt > now) return time(job); // a long wait was cut short by the timer's limit
    let mine: Filter<JobDoc> = { _id: job._id, attempt: job.attempt };
    if (found) {
      const lease = new Date(now.getTime() + leaseMs);
      const claimed = await docs.updateOne({ ...mine, leaseUntil: job.leaseUntil }, { $set: { leaseUntil: lease } });
      if (claimed.modifiedCount === 0) return; // another runner took it, or it is done
      mine = { _id: job._id, leaseUntil: lease };
    }
    try {
      // A job is its own request with its own deadline (its lease), never that of the request that
      // scheduled it (its timer was set in that context).
      await withDeadline(Date.now() + leaseMs, () =>
        inSpan(
          `${jobSubject(deps.service, kind)} process`,
          { kind: SpanKind.CONSUMER, parent: contextFromTraceparent(job.traceparent) },
          () => options.handler(job.payload, { id: job.id, dueAt: job.dueAt, attempt: job.attempt }),
        ),
      );
      // Removed in the background, together with others: the next job need not wait for it (a
      // crash before the removal only runs this one again).
      const removal = removals
        .submit(kind, job._id)
        .catch((error) => deps.log.warn({ err: error, job: job.id, kind }, 'removing a finished job failed; it will run again'))
        .finally(() => removing.delete(removal));
      removing.add(removal);
    } catch (error) {
      if (job.attempt >= maxAttempts) {
        const tenantId = job.tenantId === undefined ? tenantOf(job.payload) : job.tenantId; // older documents had none
        const deadLetterId = deadLetterIdOf(kind, job.id);
        const data = JSON.stringify({ id: job.id, tenantId, kind, dueAt: job.dueAt, attempt: job.attempt, payload: job.payload });
        await publishDeadLetter(
          deps,
          `jobs-${kind}`,
          {
            id: deadLetterId,
            tenantId,
            stream: jobStream(deps.service),
            streamSeq: 0,
            subject: jobSubject(deps.service, kind),
            deliveries: job.attempt,
            error: errorText(error),
            data,
            headers: {},
          },
          // One record per give-up: repeated after a crash it is deduplicated, while the same job
          // retried from its dead letter (a new due time) that fails again is recorded again.
          `dlq-${deadLetterId}-${job.dueAt.getTime()}`,
        );
        await options.onGiveUp?.(job.payload, { deadLetterId, error: errorText(error) });
        await docs.deleteOne(mine);
        return;
      }
      instruments().retries.add(1, { consumer: `jobs-${kind}` });
      deps.log.warn({ err: error, job: job.id, kind, attempt: job.attempt }, 'job failed; rescheduled');
      const delay = backoff[Math.min(job.attempt, backoff.length) - 1] ?? 1000;
      const retry = { ...job, dueAt: new Date(clock.now().getTime() + delay), attempt: job.attempt + 1, leaseUntil: null };
      await docs.updateOne(mine, { $set: { dueAt: retry.dueAt, attempt: retry.attempt, leaseUntil: null } });
      // Timed here even if it was taken over from a runner that died: left to the look for overdue
      // jobs, each retry of it would wait the grace and a poll, not its backoff.
      time(retry);
    }
  };

  const stopListening = scheduler.listen(kind, (jobs) => {
    for (const job of jobs) time(job);
  });

  // Jobs overdue past the grace: the process that timed them is gone (or stuck), so any runner takes them.
  const poll = setInterval(() => {
    const now = clock.now();
    docs
      .find({ kind, dueAt: { $lte: new Date(now.getTime() - graceMs) }, $or: [{ leaseUntil: null }, { leaseUntil: { $lte: now } }] })
      .sort({ dueAt: 1 })
      .limit(concurrency * 8)
      .toArray()
      .then((due) => {
        for (const job of due) if (!timers.has(job._id) && !active.has(job._id)) start(job, true);
      })
      .catch((error) => deps.log.warn({ err: error, kind }, 'looking for due jobs failed; will retry'));
  }, pollMs);
  poll.unref();

  // A dead-lettered job that is re-published (a retry, on the redelivery subject only this runner
  // reads) is scheduled again. Unbounded deliveries: a retry that cannot be scheduled yet is not dropped.
  const retries = await consume(
    deps,
    {
      stream: jobStream(deps.service),
      durable: `jobs-${kind}`,
      filterSubjects: [redeliverySubject(deps.service, `jobs-${kind}`)],
      maxDeliver: -1,
    },
    async (msg: JsMsg) => {
      const retried = RetriedJob.safeParse(jsonOf(msg));
      if (retried.success) {
        const { id, tenantId, payload, dueAt } = retried.data;
        // Its last attempt may still be finishing: the dead letter goes out before the job's
        // document is removed, and until then this retry would be taken for a job scheduled
        // already, and removed with it. Asked again shortly, once that document is gone.
        const givingUp = await docs.findOne({ _id: `${kind}:${id}`, attempt: { $gte: maxAttempts } }, { projection: { _id: 1 } });
        if (givingUp) return msg.nak(GIVING_UP_RETRY_MS);
        const now = clock.now();
        await scheduler.scheduleKind(kind, [
          { id, tenantId: tenantId ?? tenantOf(payload), dueAt: dueAt && dueAt > now ? dueAt : now, payload },
        ]);
      }
      msg.ack();
    },
  );

  return {
    async stop() {
      stopped = true;
      stopListening();
      clearInterval(poll);
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      waiting.length = 0;
      await Promise.allSettled([...inFlight]);
      await Promise.allSettled([...removing]);
      await retries.stop();
    },
  };
}

/**
 * The dead-letter id of a job: the same for every failure of one job, and made only of the
 * characters an id may have in a URL path; an id that has others is replaced by its digest.
 */
export function deadLetterIdOf(kind: string, id: string): string {
  const readable = `job-${kind}-${id}`;
  if (/^[A-Za-z0-9_-]{1,200}$/.test(readable)) return readable;
  return `job-${kind}-${createHash('sha256').update(id).digest('base64url').slice(0, 32)}`;
}
