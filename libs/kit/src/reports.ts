import type { Actor, EventEnvelope } from '@allot/contracts';
import {
  AppError,
  type CreateReport,
  REPORT_CHUNK_BYTES,
  type Report,
  type ReportChunk,
  type ReportFormat,
  type ReportOwner,
  type ReportStatus,
  type ReportType,
  type ReportUpdated,
  reportColumns,
  type reportRpc,
} from '@allot/contracts';
import { Binary, type Collection, type Db, type IndexDescription } from 'mongodb';
import { z } from 'zod';
import type { Clock } from './clock';
import { positiveInt } from './config';
import type { Handlers } from './define-service';
import { newId } from './ids';
import type { JobDefinition, JobType } from './jobs';
import { insertNew, type OutboxCollection, type OutboxDoc } from './outbox-collection';
import { toPage } from './pagination';
import { gzipped, inChunks, type ReportRow, reportFile, storedGzipped } from './report-files';
import type { RequestIds } from './request-ids';

/** What a report covers, as the service's row source reads it. */
export interface ReportQuery {
  /** First day included (`YYYY-MM-DD`), or null: from the start. */
  from: string | null;
  /** Last day included, or null: up to now. */
  to: string | null;
  sessionId: string | null;
  sku: string | null;
  /** Set for a report a user asked for: only that user's rows. */
  userId: string | null;
}

/**
 * Documents a report's cursor fetches per round trip. The driver's default lets a round trip
 * bring up to 16 MiB, all of it decoded at once. Small enough that a batch dies young: the driver
 * keeps a parsed index of every document of a batch until the next batch replaces it, and batches
 * of 1,000 lived through two young-generation collections, so each was promoted to the old
 * generation and the heap grew by over 100 MiB of garbage during a report of 100,000 rows.
 */
export const REPORT_CURSOR_BATCH = 250;

/**
 * How the owning service reads one type's rows: `rows` yields them from a database cursor, one
 * at a time, and the source says how a run's percentage is reckoned, in one of two ways.
 */
export type ReportSource = CountedSource | TimedSource;

interface RowSource {
  rows(tenantId: string, query: ReportQuery): AsyncIterable<ReportRow>;
}

/** `count` tells how many rows `rows` will yield (an estimate is fine): for few rows, of a small collection. */
interface CountedSource extends RowSource {
  count(tenantId: string, query: ReportQuery): Promise<number>;
}

/**
 * Rows that come in time order say when each one is (`timeOf`: an ISO date or date-time), and the
 * percentage is the share of the time from the first row to the rows' end that lies behind the
 * current row. No count is made: where the database counts by reading every document (FerretDB),
 * a count of a large report costs as much as its rows. The row limit is met as the rows come.
 */
interface TimedSource extends RowSource {
  timeOf(row: ReportRow): string;
  /**
   * When the rows end (exclusive), if the source can tell without reading them (an estimate is
   * fine); else the end of `to`, or now.
   */
  endOf?(tenantId: string, query: ReportQuery): Promise<string | null>;
}

export interface ReportLimits {
  /** Reports queued or running at once per tenant. */
  maxRunning: number;
  /** Rows one report may hold: a larger one fails, saying so. */
  maxRows: number;
  /** How long a ready report's file is kept. */
  ttlMs: number;
  /** A running report whose runner has not written for this long is taken over by the job run again. */
  staleMs: number;
}

export interface ReportDoc {
  _id: string;
  outbox?: OutboxDoc['outbox'];
  tenantId: string;
  type: ReportType;
  format: ReportFormat;
  query: ReportQuery;
  status: Exclude<ReportStatus, 'expired'>;
  percentage: number;
  rows: number;
  /** The file's size as it is downloaded (uncompressed). */
  sizeBytes: number | null;
  /**
   * How the file is stored: `gzip`, one gzip stream cut into the chunks (CSV and NDJSON), or null,
   * as it is (XLSX, a zip already). Absent on reports written before files were compressed: as it is.
   */
  encoding?: ReportEncoding | null;
  /** The bytes of all the chunks together (absent on reports written before: `sizeBytes`). */
  storedBytes?: number | null;
  chunks: number | null;
  error: string | null;
  /** The run writing the file: a run that is no longer this one stops at its next write. */
  runId: string | null;
  /** The running run's last write: a run taken over after a crash is one whose heartbeat went stale. */
  heartbeatAt: Date | null;
  createdAt: Date;
  readyAt: Date | null;
  expiresAt: Date | null;
}

interface ChunkDoc {
  _id: string;
  reportId: string;
  seq: number;
  data: Binary;
}

export const reportIndexes: Record<string, IndexDescription[]> = {
  reports: [{ key: { tenantId: 1, _id: -1 } }, { key: { tenantId: 1, status: 1 } }, { key: { expiresAt: 1 } }],
  report_chunks: [{ key: { reportId: 1, seq: 1 } }],
};

type ReportEncoding = NonNullable<z.output<typeof ReportChunk>['encoding']>;

/** How long a report's record (not its file) is kept: 30 days. */
const KEEP_RECORDS_MS = 30 * 86_400_000;

/** How often a run writes its progress (and so its heartbeat) at most. */
const PROGRESS_MS = 500;

/**
 * Reports of one service (docs/api.md, Reports): a durable job reads the rows from a cursor and
 * writes the file as it goes, in chunks stored in the service's database (as an import's file
 * is), so no report is ever held whole. The report's status moves queued → running → ready or
 * failed; a ready one expires after its time to live (its chunks are then deleted). Each change
 * carries its `report.updated` event in the same write.
 */
export class Reports {
  private readonly reports: Collection<ReportDoc>;
  private readonly chunks: Collection<ChunkDoc>;

  constructor(
    db: Db,
    /** The reports, in the outbox collection their `report.updated` events ride in. */
    private readonly docs: OutboxCollection<ReportDoc>,
    private readonly announce: (tenantId: string, update: ReportUpdated) => EventEnvelope,
    private readonly clock: Clock,
    /** The service's name, the suffix of its report ids (`reportOwnerOf`). */
    private readonly owner: ReportOwner,
    private readonly sources: Partial<Record<ReportType, ReportSource>>,
    private readonly limits: () => ReportLimits,
    /** Schedules the job that writes a report (the same report twice runs once). */
    private readonly schedule: (tenantId: string, reportId: string) => Promise<void>,
  ) {
    this.reports = docs.raw;
    this.chunks = db.collection('report_chunks');
  }

  /** A new report id of this service: time-ordered, naming its owner. */
  newId(): string {
    return `${newId('rep')}-${this.owner}`;
  }

  /** Queues a report; a retry under the same key gets the same one. A user may ask only for its own bookings. */
  async create(tenantId: string, actor: Actor, input: z.output<typeof CreateReport>, id: string = this.newId()): Promise<Report> {
    if (!this.sources[input.type]) throw new AppError('validation_failed', `This service does not report ${input.type}`);
    const userId = actor.kind === 'user' ? actor.userId : null;
    if (userId && input.type !== 'bookings') throw new AppError('forbidden', 'A user token may ask only for a report of its own bookings');
    const existing = await this.reports.findOne({ _id: id, tenantId });
    if (existing) return this.toReport(existing);
    const busy = await this.reports.countDocuments({ tenantId, status: { $in: ['queued', 'running'] } });
    const { maxRunning } = this.limits();
    if (busy >= maxRunning) throw tooMany(maxRunning);
    const doc: ReportDoc = {
      _id: id,
      tenantId,
      type: input.type,
      format: input.format,
      query: { from: input.from ?? null, to: input.to ?? null, sessionId: input.sessionId ?? null, sku: input.sku ?? null, userId },
      status: 'queued',
      percentage: 0,
      rows: 0,
      sizeBytes: null,
      encoding: null,
      storedBytes: null,
      chunks: null,
      error: null,
      runId: null,
      heartbeatAt: null,
      createdAt: this.clock.now(),
      readyAt: null,
      expiresAt: null,
    };
    // A retry racing the first finds it stored: that one stands.
    if ((await insertNew(this.reports, [doc])).size > 0) return this.get(tenantId, actor, id);
    // Counted again once stored: a request that raced past the first count and now finds the
    // tenant over the limit steps back, so the limit holds however many arrive at once (under
    // such a race more may step back than needed; none gets past it).
    const now = await this.reports.countDocuments({ tenantId, status: { $in: ['queued', 'running'] } });
    if (now > maxRunning) {
      await this.reports.deleteOne({ _id: id, status: 'queued' });
      throw tooMany(maxRunning);
    }
    await this.docs.update({ _id: id }, { $set: { status: 'queued' } }, [this.announce(tenantId, updateOf(doc, this.now()))]);
    // After the insert, so the job finds its report; a crash in between is caught by `purge`.
    await this.schedule(tenantId, id);
    return this.get(tenantId, actor, id);
  }

  async get(tenantId: string, actor: Actor, id: string): Promise<Report> {
    return this.toReport(await this.find(tenantId, actor, id));
  }

  /** The tenant's reports, newest first (a user's own only); the cursor is an id, so one cursor pages through every owner's. */
  async list(tenantId: string, actor: Actor, limit: number, cursor?: string) {
    const mine = actor.kind === 'user' ? { 'query.userId': actor.userId } : {};
    const filter = { tenantId, ...mine, ...(cursor ? { _id: { $lt: cursor } } : {}) };
    const docs = await this.reports
      .find(filter, { projection: { outbox: 0 } })
      .sort({ _id: -1 })
      .limit(limit + 1)
      .toArray();
    const now = this.now();
    return toPage(docs, limit, (doc) => toReport(doc, now));
  }

  /** One chunk of a ready report's file: 409 while it is being written, 410 when it failed, 404 once expired. */
  async chunk(tenantId: string, actor: Actor, id: string, seq: number) {
    const doc = await this.find(tenantId, actor, id);
    const report = toReport(doc, this.now());
    if (report.status === 'queued' || report.status === 'running')
      throw new AppError('report_not_ready', `The report is ${report.status} (${report.percentage}%)`, { percentage: report.percentage });
    if (report.status === 'failed') throw new AppError('report_failed', `The report failed: ${doc.error ?? 'unknown reason'}`);
    if (report.status === 'expired') throw new AppError('not_found', 'The report expired; ask for it again');
    const chunks = doc.chunks ?? 0;
    if (seq >= chunks) throw new AppError('not_found', `The file has ${chunks} chunks`);
    const chunk = await this.chunks.findOne({ _id: chunkId(id, seq) });
    if (!chunk) throw new AppError('not_found', 'The report expired; ask for it again');
    return {
      seq,
      data: Buffer.from(chunk.data.buffer).toString('base64'),
      last: seq === chunks - 1,
      encoding: doc.encoding ?? null,
      storedBytes: doc.storedBytes ?? doc.sizeBytes,
    };
  }

  /**
   * The job: writes the report's file from its rows. A run first claims the report (a run id and
   * a heartbeat, renewed on a timer every third of `staleMs` until the run ends, however long the
   * source takes to count or to yield a row); another run finding it claimed with a fresh
   * heartbeat leaves it to that run (if that one dies, the sweep schedules the report again once
   * its heartbeat is stale); one finding a stale heartbeat — its runner crashed — starts the file
   * over. Every write is guarded by the run id, so a run that was taken over stops at its next write.
   */
  async run(reportId: string): Promise<void> {
    const doc = await this.reports.findOne({ _id: reportId }, { projection: { outbox: 0 } });
    if (!doc || (doc.status !== 'queued' && doc.status !== 'running')) return;
    const source = this.sources[doc.type];
    if (!source) return this.fail(doc, doc.runId, `This service does not report ${doc.type}`);
    const now = this.now();
    if (doc.status === 'running' && doc.heartbeatAt && now.getTime() - doc.heartbeatAt.getTime() < this.limits().staleMs) return;
    const runId = newId('run');
    const claimed = await this.change(
      { ...doc, status: 'running', percentage: 0, rows: 0 },
      { runId: doc.runId, status: doc.status },
      { status: 'running', percentage: 0, rows: 0, runId, heartbeatAt: now },
    );
    if (!claimed) return;
    const mine = { _id: reportId, runId };
    let lost = false;
    const heartbeat = this.heartbeat(mine, () => {
      lost = true;
    });
    // The progress write in flight: awaited before the run's last write, so it never lands after it.
    let writing: Promise<void> = Promise.resolve();
    try {
      await this.chunks.deleteMany({ reportId });
      const { maxRows } = this.limits();
      const total = 'count' in source ? await source.count(doc.tenantId, doc.query) : null;
      if (lost) return;
      if (total !== null && total > maxRows)
        return await this.fail(doc, runId, `The report has ${total} rows; at most ${maxRows} are written at once: narrow its range`);
      const timed = 'count' in source ? null : await timedPercentage(source, doc.tenantId, doc.query, this.now());
      let rows = 0;
      let first: ReportRow | undefined;
      let lastWrite = Date.now();
      // Rows are counted as the writer takes them; the progress is written between two rows now
      // and then. Rows go on while it is written; the next one waits for it (its failure fails
      // the file there).
      const progress = async (row: ReportRow) => {
        const percentage = timed ? timed(row, first ?? row) : shareOf(rows, total ?? 0);
        const at = { status: 'running' as const, percentage, rows, heartbeatAt: this.now() };
        // Set, never cleared: the heartbeat may have found the run taken over meanwhile.
        if (!(await this.change({ ...doc, ...at }, mine, at))) lost = true;
      };
      const counted = async function* (): AsyncGenerator<ReportRow> {
        for await (const row of source.rows(doc.tenantId, doc.query)) {
          first ??= row;
          if (++rows > maxRows)
            throw new Error(`The report has more than ${maxRows} rows; at most ${maxRows} are written at once: narrow its range`);
          yield row;
          if (Date.now() - lastWrite >= PROGRESS_MS) {
            lastWrite = Date.now();
            await writing;
            writing = progress(row);
            writing.catch(() => {}); // awaited by the next one or at the end
          }
          if (lost) return;
        }
      };
      const plain = reportFile(doc.format, reportColumns[doc.type], counted());
      // CSV and NDJSON shrink many times over in gzip: far fewer chunks for the database to store.
      const gzip = storedGzipped(doc.format) ? gzipped(plain) : null;
      const file = gzip?.stream ?? plain;
      const stored = await inChunks(file, REPORT_CHUNK_BYTES, async (data, seq) => {
        if (lost) return;
        await this.chunks.updateOne({ _id: chunkId(reportId, seq) }, { $set: { reportId, seq, data: new Binary(data) } }, { upsert: true });
      });
      await writing;
      if (lost) {
        file.destroy();
        return;
      }
      const chunks = Math.max(1, Math.ceil(stored / REPORT_CHUNK_BYTES));
      const readyAt = this.now();
      const ready = {
        status: 'ready' as const,
        percentage: 100,
        rows,
        sizeBytes: gzip ? gzip.size() : stored,
        encoding: gzip ? ('gzip' as const) : null,
        storedBytes: stored,
        chunks,
        readyAt,
        expiresAt: new Date(readyAt.getTime() + this.limits().ttlMs),
        heartbeatAt: readyAt,
      };
      await this.change({ ...doc, ...ready }, mine, ready);
    } catch (error) {
      await writing.catch(() => {});
      // A failure of the database or the bus is retried by the job; anything else (a row that
      // cannot be written) fails the report with its reason.
      if (isTransient(error)) throw error;
      await this.fail(doc, runId, (error as Error).message);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * Keeps a claimed run's heartbeat fresh while it runs: the progress writes come only between
   * rows, and a source slow to count or to yield its first rows would otherwise look dead to the
   * sweep, which would start the file over again and again. Only a running report still claimed
   * by the run is touched (a late beat never lands on a report that ended); one that is no longer
   * the run's calls `onLost`. A failed beat is left to the next (the run's own writes fail it).
   */
  private heartbeat(mine: { _id: string; runId: string }, onLost: () => void): NodeJS.Timeout {
    let beating = false;
    const timer = setInterval(
      () => {
        if (beating) return;
        beating = true;
        this.reports
          .updateOne({ ...mine, status: 'running' }, { $set: { heartbeatAt: this.now() } })
          .then(
            (written) => {
              if (written.matchedCount === 0) onLost();
            },
            () => {},
          )
          .finally(() => {
            beating = false;
          });
      },
      Math.max(1, Math.floor(this.limits().staleMs / 3)),
    );
    timer.unref();
    return timer;
  }

  /** A report whose job ran out of attempts fails with the reason, so nothing waits on it forever. */
  async giveUp(reportId: string, error: string): Promise<void> {
    const doc = await this.reports.findOne({ _id: reportId }, { projection: { outbox: 0 } });
    if (doc && (doc.status === 'queued' || doc.status === 'running')) await this.fail(doc, doc.runId, `The report stopped: ${error}`);
  }

  /**
   * Schedules again the job of a report left waiting with none (a crash between the report's
   * insert and its job's schedule; scheduling a job that exists changes nothing), deletes the
   * files of expired reports, and forgets reports after `KEEP_RECORDS_MS`.
   */
  async purge(): Promise<void> {
    const now = this.now();
    const idle = new Date(now.getTime() - this.limits().staleMs);
    const waiting = await this.reports
      .find(
        { status: { $in: ['queued', 'running'] }, createdAt: { $lt: idle }, $or: [{ heartbeatAt: null }, { heartbeatAt: { $lt: idle } }] },
        { projection: { _id: 1, tenantId: 1 } },
      )
      .limit(1000)
      .toArray();
    for (const doc of waiting) await this.schedule(doc.tenantId, doc._id);
    const old = await this.reports
      .find({ createdAt: { $lt: new Date(now.getTime() - KEEP_RECORDS_MS) } }, { projection: { _id: 1 } })
      .limit(1000)
      .toArray();
    if (old.length > 0) {
      await this.chunks.deleteMany({ reportId: { $in: old.map((d) => d._id) } });
      await this.reports.deleteMany({ _id: { $in: old.map((d) => d._id) } });
    }
    const expired = await this.reports
      .find({ status: 'ready', expiresAt: { $lte: now }, chunks: { $ne: null } }, { projection: { _id: 1 } })
      .limit(1000)
      .toArray();
    const ids = expired.map((d) => d._id);
    if (ids.length === 0) return;
    await this.chunks.deleteMany({ reportId: { $in: ids } });
    await this.reports.updateMany({ _id: { $in: ids } }, { $set: { chunks: null } });
  }

  private async fail(doc: ReportDoc, runId: string | null, error: string): Promise<void> {
    const failed = { status: 'failed' as const, error: error.slice(0, 500), heartbeatAt: this.now() };
    await this.change({ ...doc, ...failed }, { _id: doc._id, runId, status: { $in: ['queued', 'running'] } }, failed);
    await this.chunks.deleteMany({ reportId: doc._id });
  }

  /** A guarded change with its `report.updated` event (made from the state it leads to) in the same write. */
  private async change(next: ReportDoc, filter: Record<string, unknown>, set: Partial<ReportDoc>): Promise<boolean> {
    const written = await this.docs.update({ _id: next._id, ...filter }, { $set: set }, [
      this.announce(next.tenantId, updateOf(next, this.now())),
    ]);
    return written !== null;
  }

  private async find(tenantId: string, actor: Actor, id: string): Promise<ReportDoc> {
    const doc = await this.reports.findOne({ _id: id, tenantId }, { projection: { outbox: 0 } });
    // A user sees only the reports it asked for; another's is as good as absent.
    if (!doc || (actor.kind === 'user' && doc.query.userId !== actor.userId)) throw new AppError('not_found', 'Report not found');
    return doc;
  }

  private toReport(doc: ReportDoc): Report {
    return toReport(doc, this.now());
  }

  private now(): Date {
    return this.clock.now();
  }
}

const chunkId = (reportId: string, seq: number) => `${reportId}:${seq}`;

/** A run's percentage when `rows` of `total` are written: 99 at most until the file is stored. */
function shareOf(rows: number, total: number): number {
  return total > 0 ? Math.min(99, Math.floor((rows * 100) / total)) : 0;
}

const DAY_MS = 86_400_000;

/**
 * A timed source's percentage at `row`: how much of the time from the first row to the rows' end
 * (`endOf`, else the end of `to`, else now) lies behind it. Rows past that end count as 99; when
 * the end is not after the first row (bookings dated after today, in a report without `to`, from
 * a source that cannot tell their end), the percentage stays 0 until the file is stored.
 */
async function timedPercentage(source: TimedSource, tenantId: string, query: ReportQuery, now: Date) {
  const known = await source.endOf?.(tenantId, query);
  const end = known ? Date.parse(known) : query.to ? Date.parse(query.to) + DAY_MS : now.getTime();
  return (row: ReportRow, first: ReportRow): number => {
    const start = Date.parse(source.timeOf(first));
    return end > start ? shareOf(Date.parse(source.timeOf(row)) - start, end - start) : 0;
  };
}

const tooMany = (limit: number) =>
  new AppError('too_many_jobs', `At most ${limit} reports may be queued or running at once; wait for one to end`, { limit });

/** A ready report past its expiry reads as `expired`, whether or not its file is deleted yet. */
function statusOf(doc: ReportDoc, now: Date): ReportStatus {
  return doc.status === 'ready' && doc.expiresAt && doc.expiresAt <= now ? 'expired' : doc.status;
}

function toReport(doc: ReportDoc, now: Date): Report {
  return {
    id: doc._id,
    type: doc.type,
    format: doc.format,
    status: statusOf(doc, now),
    percentage: doc.percentage,
    rows: doc.rows,
    sizeBytes: doc.sizeBytes,
    error: doc.error,
    from: doc.query.from,
    to: doc.query.to,
    sessionId: doc.query.sessionId,
    sku: doc.query.sku,
    userId: doc.query.userId,
    createdAt: doc.createdAt.toISOString(),
    readyAt: doc.readyAt?.toISOString() ?? null,
    expiresAt: doc.expiresAt?.toISOString() ?? null,
  };
}

function updateOf(doc: ReportDoc, now: Date): ReportUpdated {
  const { id, type, format, status, percentage, rows, sizeBytes, error, userId, expiresAt } = toReport(doc, now);
  return { id, type, format, status, percentage, rows, sizeBytes, error, userId, expiresAt };
}

/** Errors of the database or the bus, which a later attempt may not meet. */
function isTransient(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name ?? '';
  return /^Mongo|NatsError|TimeoutError/.test(name) || (error instanceof AppError && error.status >= 500);
}

/** The settings of a service's reports (each service that reports extends its environment with these). */
export const reportEnv = z.object({
  /** Reports queued or running at once per tenant. */
  REPORT_MAX_RUNNING: positiveInt(2),
  /** Rows one report may hold. */
  REPORT_MAX_ROWS: positiveInt(1_000_000),
  /** How long a ready report can be downloaded (24 h). */
  REPORT_TTL_SECONDS: positiveInt(86_400),
  /** A running report whose runner wrote nothing for this long (it crashed) is started over. */
  REPORT_STALE_MS: positiveInt(30_000),
});
export type ReportEnv = z.infer<typeof reportEnv>;

export const reportLimitsOf = (env: ReportEnv): ReportLimits => ({
  maxRunning: env.REPORT_MAX_RUNNING,
  maxRows: env.REPORT_MAX_ROWS,
  ttlMs: env.REPORT_TTL_SECONDS * 1000,
  staleMs: env.REPORT_STALE_MS,
});

/** The payload of a report's job (each service defines its job kind with it). */
export const ReportJobSchema = z.object({ tenantId: z.string(), reportId: z.string() });

/** Reports are written by durable jobs of the service's report kind: one out of attempts fails its report. */
export const reportJobs = (kind: JobType<typeof ReportJobSchema>, reports: Reports): JobDefinition =>
  kind.handle(({ reportId }) => reports.run(reportId), {
    concurrency: 2,
    // Retried only on failures of the database or the bus (a report of many rows is costly to lose).
    maxAttempts: 10,
    onGiveUp: ({ reportId }, { error }) => reports.giveUp(reportId, error),
  });

/** The RPC handlers of the report operations, for a service that reports. */
export const reportHandlers = (reports: Reports, requestIds: RequestIds) =>
  ({
    'report.create': async (input, { tenantId, actor, idempotencyKey }) =>
      reports.create(tenantId, actor, input, await requestIds.idFor(idempotencyKey, () => reports.newId())),
    'report.get': ({ id }, { tenantId, actor }) => reports.get(tenantId, actor, id),
    'report.list': ({ limit, cursor }, { tenantId, actor }) => reports.list(tenantId, actor, limit, cursor),
    'report.chunk': ({ id, seq }, { tenantId, actor }) => reports.chunk(tenantId, actor, id, seq),
  }) satisfies Handlers<typeof reportRpc>;
