import type { EventEnvelope } from '@allot/contracts';
import {
  AppError,
  type BeginImport,
  IMPORT_ERRORS_SHOWN,
  type Import,
  type ImportMapping,
  type ImportRowError,
  type ImportStatus,
  type ImportType,
  type importRpc,
} from '@allot/contracts';
import { Binary, type Collection, type Db, type IndexDescription } from 'mongodb';
import { z } from 'zod';
import type { Clock } from './clock';
import { positiveInt } from './config';
import type { Handlers } from './define-service';
import { newId } from './ids';
import { type FileRow, rowsOf, UnreadableFile } from './import-files';
import { insertNew, type OutboxCollection, type OutboxDoc } from './outbox-collection';
import { toPage } from './pagination';
import type { RequestIds } from './request-ids';

export type RowOutcome = 'created' | 'updated' | 'unchanged';

/** What `import.updated` tells: an import's status and progress. */
export interface ImportProgress {
  id: string;
  type: ImportType;
  status: ImportStatus;
  processedRows: number;
  totalRows: number | null;
}

/**
 * How one type of row is applied by the service that owns it. `classify` reads what applying
 * would do without writing (a dry run is made of it); `apply` writes, and is idempotent: a row
 * applied again after a crash leaves the same state. Either throws an `AppError` to refuse the row.
 */
export interface ImportRowKind<R = any> {
  schema: z.ZodType<R>;
  /** What a row upserts: rows of one key are applied in file order, the others at once. */
  keyOf(row: R): string;
  classify(tenantId: string, row: R): Promise<RowOutcome>;
  /** Applies one row (rows of a key one after the other, others at once); a kind gives this or `applyBatch`. */
  apply?(tenantId: string, row: R, at: { importId: string; line: number }): Promise<void>;
  /**
   * Applies a whole batch at once, for a kind whose rows are cheaper decided together (one
   * read and one write for many rows). It decides and writes in one step, so no plan is stored
   * before it: it must answer the same outcomes when the same batch is applied again after a
   * crash (`retry`: this batch was started before), e.g. by recognising the rows it made itself.
   * Each answer is the row's outcome, or the `AppError` that refuses it.
   */
  applyBatch?(tenantId: string, rows: R[], at: BatchAt): Promise<(RowOutcome | AppError)[]>;
}

/** Where a batch stands in its import: what `applyBatch` marks its own writes with, and whether it ran before. */
export interface BatchAt {
  importId: string;
  /** `<import>:<phase>:<first row>`: the same batch has the same id in every run. */
  batchId: string;
  retry: boolean;
}

export interface ImportLimits {
  /** Imports queued or running at once per tenant. */
  maxRunning: number;
  /** Rows one file may hold. */
  maxRows: number;
  /** Rows decided and counted together (one progress write each). */
  batchRows: number;
  /** Rows of a batch applied at once. */
  applyConcurrency: number;
  /** How long one job run works before it hands the rest to the next run (well inside its lease). */
  sliceMs: number;
  /** How long an import and its log are kept. */
  keepMs: number;
}

/** One durable job run of an import: the phase it works on and where it starts. */
export interface ImportSlice {
  tenantId: string;
  importId: string;
  phase: Phase;
  from: number;
}

/** A dry run and an atomic import are first checked (nothing written); then applied. */
type Phase = 'check' | 'apply';

export interface ImportDoc {
  _id: string;
  outbox?: OutboxDoc['outbox'];
  tenantId: string;
  type: ImportType;
  format: 'csv' | 'ndjson';
  mapping: ImportMapping;
  dryRun: boolean;
  atomic: boolean;
  sizeBytes: number;
  /** How many chunks the file has; null while it is still arriving. */
  chunks: number | null;
  status: ImportStatus;
  phase: Phase;
  totalRows: number | null;
  processedRows: number;
  created: number;
  updated: number;
  unchanged: number;
  failedRows: number;
  reason: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

interface ChunkDoc {
  _id: string;
  importId: string;
  seq: number;
  data: Binary;
}

interface ErrorDoc extends ImportRowError {
  /** `<import>:<phase>:<line, zero-padded>:<column>`: sorts by line, and one error is recorded once. */
  _id: string;
  importId: string;
  phase: Phase;
}

/** A batch's decided outcomes, kept so a batch run again after a crash counts what it counted the first time. */
interface PlanDoc {
  _id: string;
  importId: string;
  outcomes: (RowOutcome | ImportRowError)[];
}

export const importIndexes: Record<string, IndexDescription[]> = {
  imports: [{ key: { tenantId: 1, _id: -1 } }, { key: { tenantId: 1, status: 1 } }],
  import_chunks: [{ key: { importId: 1, seq: 1 } }],
  import_errors: [{ key: { importId: 1, phase: 1, _id: 1 } }],
  import_plans: [{ key: { importId: 1 } }],
};

/** An upload that never completed stops counting against the tenant's running imports after this long, and is failed. */
const ABANDONED_MS = 15 * 60_000;

/**
 * Bulk imports of one service (docs/api.md, Imports): the file arrives in chunks stored in the
 * service's database, then durable jobs parse it as a stream and decide it a batch at a time.
 * Each batch's outcomes are stored before they are applied, and the import's progress moves
 * only from the row it was at, so a job run again after a crash resumes where the last batch
 * ended and counts every row exactly once.
 */
export class Imports {
  private readonly imports: Collection<ImportDoc>;
  private readonly chunks: Collection<ChunkDoc>;
  private readonly errors: Collection<ErrorDoc>;
  private readonly plans: Collection<PlanDoc>;

  constructor(
    db: Db,
    /** The imports, in the outbox collection their `import.updated` events ride in. */
    private readonly docs: OutboxCollection<ImportDoc>,
    /** Makes the `import.updated` event of a change. */
    private readonly announce: (tenantId: string, progress: ImportProgress) => EventEnvelope,
    private readonly clock: Clock,
    private readonly kinds: Partial<Record<ImportType, ImportRowKind>>,
    private readonly limits: () => ImportLimits,
    /** Schedules a job run of an import (the same slice twice runs once). */
    private readonly schedule: (slice: ImportSlice) => Promise<void>,
  ) {
    this.imports = docs.raw;
    this.chunks = db.collection('import_chunks');
    this.errors = db.collection('import_errors');
    this.plans = db.collection('import_plans');
  }

  /** Opens an import before its file arrives; a retry under the same key gets the same one. */
  async begin(tenantId: string, input: z.output<typeof BeginImport>, id: string): Promise<Import> {
    if (!this.kinds[input.type]) throw new AppError('validation_failed', `This service does not import ${input.type}`);
    const existing = await this.imports.findOne({ _id: id, tenantId });
    if (existing) return this.toImport(existing);
    const now = this.clock.now();
    const busy = await this.imports.countDocuments({
      tenantId,
      status: { $in: ['queued', 'running'] },
      $or: [{ chunks: { $ne: null } }, { createdAt: { $gt: new Date(now.getTime() - ABANDONED_MS) } }],
    });
    const { maxRunning } = this.limits();
    if (busy >= maxRunning) {
      throw new AppError('too_many_jobs', `At most ${maxRunning} imports may be queued or running at once; wait for one to end`, {
        limit: maxRunning,
      });
    }
    const doc: ImportDoc = {
      _id: id,
      tenantId,
      ...input,
      chunks: null,
      ...restart(input.dryRun || input.atomic ? 'check' : 'apply'),
      totalRows: null,
      createdAt: now,
      completedAt: null,
    };
    await insertNew(this.imports, [doc]);
    return this.get(tenantId, id);
  }

  /** Stores one chunk of the file (again: the same chunk). */
  async chunk(tenantId: string, id: string, seq: number, base64: string): Promise<void> {
    const doc = await this.find(tenantId, id);
    if (doc.chunks !== null) throw new AppError('invalid_state', 'The file of this import is already complete');
    const data = new Binary(Buffer.from(base64, 'base64'));
    await this.chunks.updateOne({ _id: `${id}:${seq}` }, { $set: { importId: id, seq, data } }, { upsert: true });
  }

  /** The file is complete: the import is queued (again: it is answered as it is). */
  async start(tenantId: string, id: string, chunks: number): Promise<Import> {
    const doc = await this.find(tenantId, id);
    if (doc.chunks === null) {
      const stored = await this.chunks.countDocuments({ importId: id });
      if (stored !== chunks) throw new AppError('validation_failed', `The file arrived in ${stored} chunks, not ${chunks}`);
      await this.schedule({ tenantId, importId: id, phase: doc.phase, from: 0 });
      await this.imports.updateOne({ _id: id, chunks: null }, { $set: { chunks } });
      // Answered as accepted (queued): the job may already be running a small file, which GET and
      // the stream tell; the answer to the upload does not race it.
      return this.toImport({ ...doc, chunks });
    }
    return this.get(tenantId, id);
  }

  /** Applies a previewed dry run from the file already stored. */
  async confirm(tenantId: string, id: string): Promise<Import> {
    const doc = await this.find(tenantId, id);
    if (doc.status !== 'previewed')
      throw new AppError('invalid_state', `Only a previewed dry run can be confirmed; this import is ${doc.status}`);
    await this.schedule({ tenantId, importId: id, phase: 'apply', from: 0 });
    await this.changed(doc, { status: 'previewed' }, { $set: { ...restart('apply'), dryRun: false, completedAt: null } }, restart('apply'));
    return this.get(tenantId, id);
  }

  async get(tenantId: string, id: string): Promise<Import> {
    return this.toImport(await this.find(tenantId, id));
  }

  async list(tenantId: string, limit: number, cursor?: string) {
    const filter = cursor ? { tenantId, _id: { $lt: cursor } } : { tenantId };
    const docs = await this.imports
      .find(filter)
      .sort({ _id: -1 })
      .limit(limit + 1)
      .toArray();
    // A list shows the counts; an import's errors are on its own answer and its errors page.
    return toPage(docs, limit, (doc) => toImport(doc, []));
  }

  async errorPage(tenantId: string, id: string, limit: number, cursor?: string) {
    const doc = await this.find(tenantId, id);
    const docs = await this.errorsOf(doc, limit + 1, cursor);
    return toPage(docs, limit, toRowError, { cursorOf: (d) => d._id });
  }

  /** Forgets imports past their keeping time, and fails uploads that never completed. */
  async purge(): Promise<void> {
    const now = this.clock.now().getTime();
    await this.imports.updateMany(
      { chunks: null, status: 'queued', createdAt: { $lt: new Date(now - ABANDONED_MS) } },
      { $set: { status: 'failed', reason: 'The file never finished uploading', completedAt: new Date(now) } },
    );
    const old = await this.imports
      .find({ createdAt: { $lt: new Date(now - this.limits().keepMs) } }, { projection: { _id: 1 } })
      .limit(1000)
      .toArray();
    const ids = old.map((d) => d._id);
    if (ids.length === 0) return;
    await this.forgetWork(ids);
    await this.errors.deleteMany({ importId: { $in: ids } });
    await this.imports.deleteMany({ _id: { $in: ids } });
  }

  /**
   * One job run: decides and applies batches from where the import stands until the file ends
   * (the import ends) or the run's time is up (the next run is scheduled from there).
   */
  async run(slice: ImportSlice): Promise<void> {
    let doc = await this.imports.findOne({ _id: slice.importId, tenantId: slice.tenantId });
    // The run that applies a checked import is scheduled just before the import is switched to
    // applying (so a crash between the two cannot leave it waiting for nothing): until then it is retried.
    if (doc && slice.phase === 'apply' && doc.phase === 'check' && ['previewed', 'running'].includes(doc.status)) {
      throw new Error('The import is not switched to applying yet');
    }
    if (!doc || doc.phase !== slice.phase || !['queued', 'running'].includes(doc.status)) return;
    const kind = this.kinds[doc.type];
    if (!kind) return;
    if (doc.status === 'queued') {
      doc = (await this.changed(doc, { status: 'queued' }, { $set: { status: 'running' } }, { status: 'running' })) ?? doc;
    }
    try {
      if (doc.totalRows === null) {
        const total = await this.countRows(doc);
        const { maxRows } = this.limits();
        if (total > maxRows) return await this.end(doc, 'failed', `The file has ${total} rows; at most ${maxRows} are imported at once`);
        await this.imports.updateOne({ _id: doc._id }, { $set: { totalRows: total } });
        doc.totalRows = total;
      }
      const until = this.clock.now().getTime() + this.limits().sliceMs;
      const { batchRows } = this.limits();
      let at = doc.processedRows;
      let batch: FileRow[] = [];
      let seen = 0;
      const ahead = new BatchesAhead(doc.phase === 'apply' && kind.applyBatch !== undefined);
      for await (const row of rowsOf(this.fileOf(doc._id), doc.format)) {
        if (seen++ < at) continue;
        batch.push(row);
        if (batch.length < batchRows) continue;
        const rows = batch;
        const from = at;
        await ahead.add((counted) => this.decide(doc, kind, from, rows, counted));
        at += rows.length;
        batch = [];
        if (this.clock.now().getTime() > until) {
          await ahead.done();
          await this.schedule({ ...slice, from: at });
          return;
        }
      }
      const rows = batch;
      if (rows.length > 0) await ahead.add((counted) => this.decide(doc, kind, at, rows, counted));
      await ahead.done();
      await this.phaseDone(slice);
    } catch (error) {
      if (error instanceof UnreadableFile) return await this.end(doc, 'failed', error.message);
      throw error;
    }
  }

  /** An import whose job ran out of attempts fails with the reason, so nothing waits on it forever. */
  async giveUp(slice: ImportSlice, error: string): Promise<void> {
    const doc = await this.imports.findOne({ _id: slice.importId });
    if (doc && ['queued', 'running'].includes(doc.status)) await this.end(doc, 'failed', `The import stopped: ${error}`);
  }

  /** A guarded change of an import, with its `import.updated` event (built from the state it makes) in the same write. */
  private changed(doc: ImportDoc, filter: Record<string, unknown>, update: Record<string, unknown>, after: Partial<ImportDoc>) {
    const next = { ...doc, ...after };
    const progress = { id: doc._id, type: doc.type, status: next.status, processedRows: next.processedRows, totalRows: next.totalRows };
    return this.docs.update({ _id: doc._id, ...filter }, update, [this.announce(doc.tenantId, progress)]);
  }

  private async phaseDone(slice: ImportSlice): Promise<void> {
    const doc = await this.imports.findOne({ _id: slice.importId });
    if (!doc || doc.phase !== slice.phase || doc.status !== 'running') return;
    if (doc.phase === 'apply') return this.end(doc, 'completed', null);
    if (doc.dryRun) return this.end(doc, 'previewed', null);
    if (doc.failedRows > 0) {
      return this.end(doc, 'failed', `${doc.failedRows} rows were refused, so nothing was applied (atomic import)`);
    }
    // An atomic import whose rows all passed the check: now it is applied.
    await this.schedule({ ...slice, phase: 'apply', from: 0 });
    await this.changed(doc, { phase: 'check', status: 'running' }, { $set: restart('apply') }, restart('apply'));
  }

  private async end(doc: ImportDoc, status: ImportStatus, reason: string | null): Promise<void> {
    await this.changed(
      doc,
      { status: { $in: ['queued', 'running'] } },
      { $set: { status, reason, completedAt: this.clock.now() } },
      { status },
    );
    // A previewed file is kept for its confirmation; otherwise the file and the batch plans are done with.
    if (status !== 'previewed') await this.forgetWork([doc._id]);
  }

  private async forgetWork(ids: string[]): Promise<void> {
    await this.chunks.deleteMany({ importId: { $in: ids } });
    await this.plans.deleteMany({ importId: { $in: ids } });
  }

  /**
   * Decides a batch starting at row `from`: each row validated and classified (the stored plan
   * of an earlier run of this batch, if there is one), applied unless this is a check, its errors
   * recorded, then the counts added — only if the import still stands at `from`, so a batch
   * counted once is never counted again. Answers the row the next batch starts at.
   */
  private async decide(
    doc: ImportDoc,
    kind: ImportRowKind,
    from: number,
    rows: FileRow[],
    /** Settles once the batch before this one is counted: a batch applied at once is counted after it. */
    counted: Promise<unknown> = Promise.resolve(),
  ): Promise<number> {
    const planId = `${doc._id}:${doc.phase}:${from}`;
    const parsed = rows.map((row) => parseRow(row, kind, doc.mapping));
    if (doc.phase === 'apply' && kind.applyBatch) {
      const outcomes = await this.applyBatch(doc, kind, planId, parsed);
      await counted;
      return this.count(doc, from, outcomes);
    }
    let plan = await this.plans.findOne({ _id: planId });
    if (!plan) {
      const outcomes = await Promise.all(
        parsed.map(async (p) => (p.ok ? await refusal(p.line, () => kind.classify(doc.tenantId, p.row)) : p.error)),
      );
      plan = { _id: planId, importId: doc._id, outcomes };
      const stored = await insertNew(this.plans, [plan]);
      if (stored.size > 0) plan = (await this.plans.findOne({ _id: planId })) ?? plan;
    }
    const outcomes = [...plan.outcomes];
    if (doc.phase === 'apply') {
      // Rows are applied several at once (the ledger batches those on one place), except that
      // rows with one key are applied one after the other, in file order, so the last one wins.
      const lanes = new Map<string, number[]>();
      for (const [i, p] of parsed.entries()) {
        const outcome = outcomes[i];
        if (!p.ok || (outcome !== 'created' && outcome !== 'updated')) continue;
        const lane = kind.keyOf(p.row);
        lanes.set(lane, [...(lanes.get(lane) ?? []), i]);
      }
      const queue = [...lanes.values()];
      const worker = async () => {
        for (let lane = queue.shift(); lane; lane = queue.shift()) {
          for (const i of lane) {
            const p = parsed[i] as Extract<ParsedRow, { ok: true }>;
            const outcome = outcomes[i] as RowOutcome;
            outcomes[i] = await refusal(p.line, async () => {
              await kind.apply?.(doc.tenantId, p.row, { importId: doc._id, line: p.line });
              return outcome;
            });
          }
        }
      };
      await Promise.all(Array.from({ length: this.limits().applyConcurrency }, worker));
    }
    return this.count(doc, from, outcomes);
  }

  /**
   * A batch applied by its kind in one step. An empty plan marks the batch as started, so a run
   * after a crash tells the kind it is a retry (and the kind recognises what it already wrote).
   */
  private async applyBatch(doc: ImportDoc, kind: ImportRowKind, planId: string, parsed: ParsedRow[]) {
    const retry = (await insertNew(this.plans, [{ _id: planId, importId: doc._id, outcomes: [] }])).size > 0;
    const valid = parsed.flatMap((p) => (p.ok ? [p] : []));
    const decided = await (kind.applyBatch as NonNullable<ImportRowKind['applyBatch']>)(
      doc.tenantId,
      valid.map((p) => p.row),
      { importId: doc._id, batchId: planId, retry },
    );
    const byLine = new Map(valid.map((p, i) => [p.line, decided[i]]));
    return parsed.map((p) => (p.ok ? asOutcome(p.line, byLine.get(p.line)) : p.error));
  }

  /** Records a decided batch's errors, then adds its counts — only if the import still stands at `from` (counted once). */
  private async count(doc: ImportDoc, from: number, outcomes: (RowOutcome | ImportRowError)[]): Promise<number> {
    const errors = outcomes.filter((o): o is ImportRowError => typeof o === 'object');
    await insertNew(
      this.errors,
      errors.map((e) => ({ _id: errorId(doc._id, doc.phase, e), importId: doc._id, phase: doc.phase, ...e })),
    );
    const count = (o: RowOutcome) => outcomes.filter((x) => x === o).length;
    await this.changed(
      doc,
      { phase: doc.phase, processedRows: from },
      {
        $inc: {
          processedRows: outcomes.length,
          created: count('created'),
          updated: count('updated'),
          unchanged: count('unchanged'),
          failedRows: errors.length,
        },
      },
      { status: 'running', processedRows: from + outcomes.length },
    );
    return from + outcomes.length;
  }

  private async countRows(doc: ImportDoc): Promise<number> {
    let total = 0;
    for await (const _row of rowsOf(this.fileOf(doc._id), doc.format)) total++;
    return total;
  }

  /**
   * The file's bytes, chunk by chunk in order, each read by its id as it is needed: no cursor
   * stays open on the database while the rows of a chunk are applied.
   */
  private async *fileOf(importId: string): AsyncGenerator<Uint8Array> {
    for (let seq = 0; ; seq++) {
      const chunk = await this.chunks.findOne({ _id: `${importId}:${seq}` });
      if (!chunk) return;
      yield chunk.data.buffer;
    }
  }

  private async find(tenantId: string, id: string): Promise<ImportDoc> {
    const doc = await this.imports.findOne({ _id: id, tenantId });
    if (!doc) throw new AppError('not_found', 'Import not found');
    return doc;
  }

  private errorsOf(doc: ImportDoc, limit: number, after?: string): Promise<ErrorDoc[]> {
    const filter = after ? { importId: doc._id, phase: doc.phase, _id: { $gt: after } } : { importId: doc._id, phase: doc.phase };
    return this.errors.find(filter).sort({ _id: 1 }).limit(limit).toArray();
  }

  private async toImport(doc: ImportDoc): Promise<Import> {
    return toImport(doc, (await this.errorsOf(doc, IMPORT_ERRORS_SHOWN)).map(toRowError));
  }
}

/**
 * The batches of a run in flight. A kind that applies a batch at once has the next batch applied
 * while the one before is still being written (its ledger tick published, its counts stored):
 * two at a time, the later one's writes queued behind the earlier's, and each counted only after
 * the one before it. Any other batch is decided alone, one after the other.
 */
class BatchesAhead {
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly overlap: boolean) {}

  /** Starts a batch (given the promise of the previous one's count) once at most one other is in flight. */
  async add(decide: (counted: Promise<unknown>) => Promise<unknown>): Promise<void> {
    const before = this.last;
    const next = decide(before);
    // Awaited below or by the next call: a failure is not left unhandled meanwhile.
    next.catch(() => {});
    this.last = next;
    await (this.overlap ? before : next);
  }

  /** Waits for every batch started (and fails as the first failed one did). */
  async done(): Promise<void> {
    await this.last;
  }
}

/** Counters of a phase that starts over. */
const restart = (phase: Phase) => ({
  phase,
  status: 'queued' as ImportStatus,
  processedRows: 0,
  created: 0,
  updated: 0,
  unchanged: 0,
  failedRows: 0,
  reason: null,
});

function toImport(doc: ImportDoc, errors: ImportRowError[]): Import {
  return {
    id: doc._id,
    type: doc.type,
    status: doc.status,
    dryRun: doc.dryRun,
    atomic: doc.atomic,
    totalRows: doc.totalRows,
    processedRows: doc.processedRows,
    created: doc.created,
    updated: doc.updated,
    unchanged: doc.unchanged,
    failedRows: doc.failedRows,
    errors,
    reason: doc.reason,
    createdAt: doc.createdAt.toISOString(),
    completedAt: doc.completedAt?.toISOString() ?? null,
  };
}

const toRowError = ({ line, column, value, message }: ErrorDoc): ImportRowError => ({ line, column, value, message });

const errorId = (importId: string, phase: Phase, e: ImportRowError) =>
  `${importId}:${phase}:${String(e.line).padStart(9, '0')}:${e.column}`;

type ParsedRow = { ok: true; line: number; row: unknown } | { ok: false; line: number; error: ImportRowError };

/**
 * A file row as the kind's row: each field from the column the mapping names (by default the
 * column of the same name) or the mapping's fixed value, validated by the kind's schema. The
 * first refused field is the row's error, named by its column and the value found there.
 */
function parseRow({ line, cells, problem }: FileRow, kind: ImportRowKind, mapping: ImportMapping): ParsedRow {
  if (!cells) return { ok: false, line, error: { line, column: '(row)', value: null, message: problem ?? 'unreadable row' } };
  const fields = Object.keys((kind.schema as unknown as { shape: Record<string, unknown> }).shape);
  const values: Record<string, unknown> = {};
  const columnOf = (field: string) => {
    const source = mapping[field];
    return typeof source === 'string' ? source : source ? `${field} (fixed value)` : field;
  };
  for (const field of fields) {
    const source = mapping[field];
    const value = typeof source === 'string' ? cells[source] : source ? source.value : cells[field];
    if (value !== undefined && value !== null) values[field] = value;
  }
  const result = kind.schema.safeParse(values);
  if (result.success) return { ok: true, line, row: result.data };
  const issue = result.error.issues[0];
  const field = String(issue?.path[0] ?? '(row)');
  const raw = values[field];
  return {
    ok: false,
    line,
    error: {
      line,
      column: columnOf(field),
      value: raw === undefined ? null : String(raw).slice(0, 200),
      message: issue?.message ?? 'invalid',
    },
  };
}

/** A row's outcome, or its error when the owning service refuses it (e.g. a session it does not know). */
async function refusal(line: number, decide: () => Promise<RowOutcome>): Promise<RowOutcome | ImportRowError> {
  try {
    return await decide();
  } catch (error) {
    return asOutcome(line, error);
  }
}

/**
 * An answer of the owning service as the row's outcome: a refusal of the domain is the row's
 * error, named by the field and value in its details; anything else (the database or NATS
 * failing) fails the run, which is retried.
 */
function asOutcome(line: number, answer: unknown): RowOutcome | ImportRowError {
  if (answer === 'created' || answer === 'updated' || answer === 'unchanged') return answer;
  if (!(answer instanceof AppError) || answer.code === 'internal' || answer.code === 'upstream_unavailable') throw answer;
  const field = (answer.details?.field as string | undefined) ?? '(row)';
  const value = answer.details?.value;
  return { line, column: field, value: value === undefined ? null : String(value), message: answer.message };
}

/** The settings of a service's imports (each service that imports extends its environment with these). */
export const importEnv = z.object({
  /** Imports queued or running at once per tenant. */
  IMPORT_MAX_RUNNING: positiveInt(2),
  /** Rows one import file may hold. */
  IMPORT_MAX_ROWS: positiveInt(100_000),
  /** Rows decided together, with one progress write (a kind that applies a batch at once writes it with a few commands). */
  IMPORT_BATCH_ROWS: positiveInt(2000),
  /** Rows of a batch applied at once. */
  IMPORT_APPLY_CONCURRENCY: positiveInt(8),
  /** How long one job run of an import works before the next run takes over. */
  IMPORT_SLICE_MS: positiveInt(20_000),
  /** How long an import and its row errors are kept (30 days). */
  IMPORT_KEEP_DAYS: positiveInt(30),
});
export type ImportEnv = z.infer<typeof importEnv>;

export const importLimitsOf = (env: ImportEnv): ImportLimits => ({
  maxRunning: env.IMPORT_MAX_RUNNING,
  maxRows: env.IMPORT_MAX_ROWS,
  batchRows: env.IMPORT_BATCH_ROWS,
  applyConcurrency: env.IMPORT_APPLY_CONCURRENCY,
  sliceMs: env.IMPORT_SLICE_MS,
  keepMs: env.IMPORT_KEEP_DAYS * 86_400_000,
});

/** The payload of an import's job runs (each service defines its job kind with it). */
export const ImportSliceSchema = z.object({
  tenantId: z.string(),
  importId: z.string(),
  phase: z.enum(['check', 'apply']),
  from: z.number().int().min(0),
});

/**
 * The RPC handlers of the import operations, for a service that imports. An import's id ends
 * with its service's name (`imp_…-inventory`), so the gateway knows where to ask for it.
 */
export const importHandlers = (imports: Imports, requestIds: RequestIds, owner: string) =>
  ({
    'import.begin': async (input, { tenantId, idempotencyKey }) =>
      imports.begin(tenantId, input, await requestIds.idFor(idempotencyKey, () => `${newId('imp')}-${owner}`)),
    'import.chunk': async ({ id, seq, data }, { tenantId }) => {
      await imports.chunk(tenantId, id, seq, data);
      return { seq };
    },
    'import.start': ({ id, chunks }, { tenantId }) => imports.start(tenantId, id, chunks),
    'import.get': ({ id }, { tenantId }) => imports.get(tenantId, id),
    'import.list': ({ limit, cursor }, { tenantId }) => imports.list(tenantId, limit, cursor),
    'import.errors': ({ id, limit, cursor }, { tenantId }) => imports.errorPage(tenantId, id, limit, cursor),
    'import.confirm': ({ id }, { tenantId }) => imports.confirm(tenantId, id),
  }) satisfies Handlers<typeof importRpc>;
