import type { BulkJob, Notification } from '@allot/contracts';
import type { Collection, Db, IndexDescription } from 'mongodb';

/** A bulk send (SPEC §7): its message, its progress, and who is working on it until when. */
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
  /** A worker owns the job until then; an interrupted job is resumed by whoever claims it next. */
  leaseUntil: string;
  /** Consecutive failed attempts at the current batch. */
  attempts: number;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

/** One batch of a job's recipients, stored apart so a worker reads only the batch it sends. */
export interface BulkBatchDoc {
  _id: string;
  tenantId: string;
  jobId: string;
  userIds: string[];
}

export const bulkJobIndexes: IndexDescription[] = [{ key: { status: 1, leaseUntil: 1 } }, { key: { tenantId: 1 } }];
export const bulkBatchIndexes: IndexDescription[] = [{ key: { jobId: 1 } }];

export const toBulkJob = (doc: BulkJobDoc): BulkJob => ({
  jobId: doc._id,
  status: doc.status,
  total: doc.total,
  sent: doc.sent,
  failed: doc.failed,
});

const batchId = (jobId: string, n: number) => `${jobId}:${n}`;

export class BulkJobStore {
  private readonly jobs: Collection<BulkJobDoc>;
  private readonly batches: Collection<BulkBatchDoc>;

  constructor(db: Db) {
    this.jobs = db.collection('bulkJobs');
    this.batches = db.collection('bulkBatches');
  }

  /** Stores the batches first, then the job: a job that exists has all of its recipients. */
  async create(job: BulkJobDoc, batches: string[][]): Promise<void> {
    await this.batches.insertMany(
      batches.map((userIds, n) => ({ _id: batchId(job._id, n), tenantId: job.tenantId, jobId: job._id, userIds })),
    );
    await this.jobs.insertOne(job);
  }

  get(tenantId: string, jobId: string): Promise<BulkJobDoc | null> {
    return this.jobs.findOne({ _id: jobId, tenantId });
  }

  /** Atomically takes the unfinished job that waited longest and nobody owns (its lease ran out). */
  claim(now: Date, leaseMs: number): Promise<BulkJobDoc | null> {
    return this.jobs.findOneAndUpdate(
      { status: { $in: ['queued', 'running'] }, leaseUntil: { $lte: now.toISOString() } },
      { $set: { status: 'running', leaseUntil: new Date(now.getTime() + leaseMs).toISOString() } },
      { sort: { leaseUntil: 1 }, returnDocument: 'after' },
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
  async advance(job: BulkJobDoc, n: number, counts: { sent: number; failed: number }, now: Date, leaseMs: number) {
    const done = n + 1 >= job.batches;
    const updated = await this.jobs.findOneAndUpdate(
      { _id: job._id, nextBatch: n },
      {
        $set: {
          nextBatch: n + 1,
          status: done ? 'completed' : 'running',
          attempts: 0,
          leaseUntil: new Date(now.getTime() + leaseMs).toISOString(),
          updatedAt: now.toISOString(),
        },
        $inc: counts,
      },
      { returnDocument: 'after' },
    );
    if (done) await this.batches.deleteMany({ jobId: job._id });
    return updated;
  }

  /** Gives the job up so the next sweep (here or in another replica) picks it up at once. */
  async release(jobId: string, now: Date): Promise<void> {
    await this.jobs.updateOne({ _id: jobId, status: 'running' }, { $set: { leaseUntil: now.toISOString() } });
  }

  /** Records a failed attempt at the current batch, tried again a second later; after `maxAttempts` the job is failed. */
  async recordFailure(jobId: string, error: string, now: Date, maxAttempts: number): Promise<void> {
    const retryAt = new Date(now.getTime() + 1000).toISOString();
    const job = await this.jobs.findOneAndUpdate(
      { _id: jobId, status: 'running' },
      { $inc: { attempts: 1 }, $set: { error, leaseUntil: retryAt, updatedAt: now.toISOString() } },
      { returnDocument: 'after' },
    );
    if (job && job.attempts >= maxAttempts) {
      await this.jobs.updateOne({ _id: jobId, status: 'running' }, { $set: { status: 'failed', failed: job.total - job.sent } });
      await this.batches.deleteMany({ jobId });
    }
  }
}
