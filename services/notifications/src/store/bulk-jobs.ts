import type { BulkJob, Notification } from '@allot/contracts';
import { onlyDuplicateKeys } from '@allot/kit';
import type { Collection, Db, IndexDescription } from 'mongodb';

/** A bulk send: its message and its progress. Its tenant's turns at the sender are kept in `bulkTenants`. */
export interface BulkJobDoc {
  _id: string;
  tenantId: string;
  status: BulkJob['status'];
  total: number;
  sent: number;
  failed: number;
  type: string;
  title: string;
  message: string;
  severity?: Notification['severity'];
  /** The recipients are stored in this many batches; `nextBatch` is the first not yet done. */
  batches: number;
  nextBatch: number;
  /** Consecutive failed attempts at the current batch. */
  attempts: number;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** One batch of a job's recipients, stored apart so a worker reads only the batch it sends. */
export interface BulkBatchDoc {
  _id: string;
  tenantId: string;
  jobId: string;
  userIds: string[];
}

export const bulkJobIndexes: IndexDescription[] = [{ key: { tenantId: 1, status: 1, createdAt: 1 } }];
export const bulkBatchIndexes: IndexDescription[] = [{ key: { jobId: 1 } }];

export const toBulkJob = (doc: BulkJobDoc): BulkJob => ({
  jobId: doc._id,
  status: doc.status,
  total: doc.total,
  sent: doc.sent,
  failed: doc.failed,
  createdAt: doc.createdAt,
  finishedAt: doc.finishedAt ?? null,
});

const unfinished: BulkJob['status'][] = ['queued', 'running'];

/** Ignores what an earlier attempt of the same request (same job id) already wrote. */
async function writeOnce(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (!onlyDuplicateKeys(error)) throw error;
  }
}

const batchId = (jobId: string, n: number) => `${jobId}:${n}`;

export class BulkJobStore {
  private readonly jobs: Collection<BulkJobDoc>;
  private readonly batches: Collection<BulkBatchDoc>;

  constructor(db: Db) {
    this.jobs = db.collection('bulkJobs');
    this.batches = db.collection('bulkBatches');
  }

  /**
   * Stores the batches first, then the job: a job that exists has all of its recipients. A retry
   * of the same request (same job id) completes what the first attempt left and writes nothing twice.
   */
  async create(job: BulkJobDoc, batches: string[][]): Promise<void> {
    await writeOnce(() =>
      this.batches.insertMany(
        batches.map((userIds, n) => ({ _id: batchId(job._id, n), tenantId: job.tenantId, jobId: job._id, userIds })),
        { ordered: false },
      ),
    );
    await writeOnce(() => this.jobs.insertOne(job));
  }

  get(tenantId: string, jobId: string): Promise<BulkJobDoc | null> {
    return this.jobs.findOne({ _id: jobId, tenantId });
  }

  /** The tenant's send that has waited longest and is not finished: the one its next turn works on. */
  async oldestUnfinished(tenantId: string): Promise<BulkJobDoc | null> {
    const [job] = await this.jobs
      .find({ tenantId, status: { $in: unfinished } })
      .sort({ createdAt: 1, _id: 1 })
      .limit(1)
      .toArray();
    return job ?? null;
  }

  /** Every unfinished job (id, tenant, recipients), a page at a time in id order. */
  unfinishedPage(after: string, limit: number): Promise<Pick<BulkJobDoc, '_id' | 'tenantId' | 'total'>[]> {
    return this.jobs
      .find({ status: { $in: unfinished }, _id: { $gt: after } }, { projection: { _id: 1, tenantId: 1, total: 1 } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
  }

  /** Which of these jobs exist and are unfinished (the others no longer count against the quota). */
  async unfinishedOf(tenantId: string, jobIds: string[]): Promise<Set<string>> {
    const docs = await this.jobs
      .find({ tenantId, _id: { $in: jobIds }, status: { $in: unfinished } }, { projection: { _id: 1 } })
      .toArray();
    return new Set(docs.map((d) => d._id));
  }

  /** Whether the job exists at all. */
  async exists(jobId: string): Promise<boolean> {
    return (await this.jobs.countDocuments({ _id: jobId }, { limit: 1 })) > 0;
  }

  /** Marks a queued job running (progress shows the sender has started on it). */
  async start(job: BulkJobDoc, now: Date): Promise<BulkJobDoc> {
    if (job.status !== 'queued') return job;
    return (
      (await this.jobs.findOneAndUpdate(
        { _id: job._id, status: 'queued' },
        { $set: { status: 'running', updatedAt: now.toISOString() } },
        { returnDocument: 'after' },
      )) ?? job
    );
  }

  async recipients(jobId: string, n: number): Promise<string[]> {
    const batch = await this.batches.findOne({ _id: batchId(jobId, n) });
    if (!batch) throw new Error(`bulk job ${jobId} has no batch ${n}`);
    return batch.userIds;
  }

  /**
   * Counts batch `n` as done and extends the lease, once: the update only applies while `n` is
   * still the next batch, so a batch repeated after a crash is never counted twice.
   */
  async advance(job: BulkJobDoc, n: number, counts: { sent: number; failed: number }, now: Date) {
    const done = n + 1 >= job.batches;
    const updated = await this.jobs.findOneAndUpdate(
      { _id: job._id, nextBatch: n },
      {
        $set: {
          nextBatch: n + 1,
          status: done ? 'completed' : 'running',
          attempts: 0,
          updatedAt: now.toISOString(),
          finishedAt: done ? now.toISOString() : null,
        },
        $inc: counts,
      },
      { returnDocument: 'after' },
    );
    if (done) await this.batches.deleteMany({ jobId: job._id });
    return updated;
  }

  /** Records a failed attempt at the current batch (how many in a row so far); after `maxAttempts` the job is failed (`gaveUp`). */
  async recordFailure(jobId: string, error: string, now: Date, maxAttempts: number): Promise<{ gaveUp: boolean; attempts: number }> {
    const job = await this.jobs.findOneAndUpdate(
      { _id: jobId, status: 'running' },
      { $inc: { attempts: 1 }, $set: { error, updatedAt: now.toISOString() } },
      { returnDocument: 'after' },
    );
    if (!job || job.attempts < maxAttempts) return { gaveUp: false, attempts: job?.attempts ?? 0 };
    await this.jobs.updateOne(
      { _id: jobId, status: 'running' },
      { $set: { status: 'failed', failed: job.total - job.sent, finishedAt: now.toISOString() } },
    );
    await this.batches.deleteMany({ jobId });
    return { gaveUp: true, attempts: job.attempts };
  }
}
