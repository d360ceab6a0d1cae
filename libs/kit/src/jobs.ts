import { jobStream, jobSubject } from '@allot/contracts';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { z } from 'zod';
import type { Clock } from './clock';
import { consume, deadLetter, errorText, type JetStreamDeps, jsonOf, type RunningConsumer } from './consumer';
import { defaultBackoffMs } from './event-consumer';
import { instruments } from './telemetry';
import { contextFrom, headersWithTrace, inSpan, SpanKind } from './trace';

const Job = z.object({
  id: z.string(),
  kind: z.string(),
  dueAt: z.string(),
  attempt: z.number().int().min(1),
  payload: z.unknown(),
});
type Job = z.infer<typeof Job>;

/**
 * Schedules durable delayed work: a job is a JetStream message that its runner holds back
 * (nak with delay) until it is due, so it survives restarts of the process and of NATS.
 * Scheduling the same job id twice is harmless: JetStream drops the duplicate.
 */
export class JobScheduler {
  constructor(
    private readonly js: JetStreamClient,
    private readonly service: string,
  ) {}

  async schedule(kind: string, id: string, dueAt: Date, payload: unknown, attempt = 1): Promise<void> {
    const job: Job = { id, kind, dueAt: dueAt.toISOString(), attempt, payload };
    await this.js.publish(jobSubject(this.service, kind), JSON.stringify(job), {
      msgID: `${kind}:${id}:${attempt}`,
      headers: headersWithTrace(),
    });
  }
}

export interface JobRunnerOptions {
  kind: string;
  clock: Clock;
  /** Attempts before the job goes to the dead-letter stream (default 5). */
  maxAttempts?: number;
  backoffMs?: number[];
  concurrency?: number;
  handler(payload: unknown, job: { id: string; dueAt: Date; attempt: number }): Promise<void>;
}

/**
 * Runs the jobs of one kind at or after their due time. A failed attempt is re-scheduled with
 * backoff as a new message (so waiting for the due time never counts as a failure); the last
 * failed attempt is dead-lettered. Handlers must be idempotent: a crash after the work and
 * before the ack runs the job again.
 */
export function runJobs(deps: JetStreamDeps, scheduler: JobScheduler, options: JobRunnerOptions): Promise<RunningConsumer> {
  const maxAttempts = options.maxAttempts ?? 5;
  const backoff = options.backoffMs ?? defaultBackoffMs;
  const durable = `jobs-${options.kind}`;
  return consume(
    deps,
    {
      stream: jobStream(deps.service),
      durable,
      filterSubjects: [jobSubject(deps.service, options.kind)],
      // Each wait for the due time is a delivery too; this only stops a job that crashes its process forever.
      maxDeliver: 100,
      concurrency: options.concurrency,
    },
    async (msg: JsMsg) => {
      const parsed = Job.safeParse(jsonOf(msg));
      if (!parsed.success) return deadLetter(deps, durable, msg, 'malformed job');
      const job = parsed.data;
      const dueAt = new Date(job.dueAt);
      const wait = dueAt.getTime() - options.clock.now().getTime();
      if (wait > 0) return msg.nak(wait);
      try {
        await inSpan(`${msg.subject} process`, { kind: SpanKind.CONSUMER, parent: contextFrom(msg.headers) }, () =>
          options.handler(job.payload, { id: job.id, dueAt, attempt: job.attempt }),
        );
        msg.ack();
      } catch (error) {
        if (job.attempt >= maxAttempts) return deadLetter(deps, durable, msg, errorText(error));
        instruments().retries.add(1, { consumer: durable });
        deps.log.warn({ err: error, job: job.id, attempt: job.attempt }, 'job failed; rescheduled');
        const delay = backoff[Math.min(job.attempt, backoff.length) - 1] ?? 1000;
        await scheduler.schedule(job.kind, job.id, new Date(options.clock.now().getTime() + delay), job.payload, job.attempt + 1);
        msg.ack();
      }
    },
  );
}
