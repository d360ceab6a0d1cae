import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { systemClock } from '../src/clock';
import { EventPublisher, makeEvent } from '../src/events';
import { connectMongo } from '../src/mongo';
import { OutboxRelay } from '../src/outbox';
import { OutboxCollection } from '../src/outbox-collection';
import type { ReportRow } from '../src/report-files';
import { type ReportDoc, type ReportLimits, type ReportSource, Reports } from '../src/reports';
import { ensureStream, eventStreamConfig } from '../src/streams';
import { eventually, testLogger, testNats, uniqueName } from '../src/testing';

const apiKey = { kind: 'apiKey', keyId: 'key_1' } as const;

describe('reports', () => {
  let conn: Awaited<ReturnType<typeof testNats>>;
  let mongo: Awaited<ReturnType<typeof connectMongo>>;

  beforeAll(async () => {
    conn = await testNats();
    mongo = await connectMongo(inject('mongoUrl'), uniqueName('reports').toLowerCase());
    await ensureStream(conn.jsm, eventStreamConfig('capacity'));
  });
  afterAll(async () => {
    await conn?.close();
    await mongo?.client.close();
  });

  /**
   * The reports of one service whose jobs start a run at once, each scheduling another run beside
   * those still going (as a second replica's job runner would), all of them kept in `runs`.
   */
  function reportsOf(source: ReportSource, limits: ReportLimits) {
    const relay = new OutboxRelay(new EventPublisher(conn.js, 'capacity'), testLogger());
    const raw = mongo.db.collection<ReportDoc>('reports');
    relay.watch(raw);
    const runs: Promise<void>[] = [];
    const reports: Reports = new Reports(
      mongo.db,
      new OutboxCollection(raw, relay),
      (tenantId, update) => makeEvent('capacity', tenantId, 'report.updated', update, systemClock),
      systemClock,
      'capacity',
      { bookings: source },
      () => limits,
      async (_tenantId, reportId) => {
        runs.push(reports.run(reportId));
      },
    );
    return { reports, runs, raw };
  }

  /** Runs a CSV bookings report of `source` with at most 100 rows until it has failed; its record then. */
  async function failedReport(source: ReportSource) {
    const tenantId = uniqueName('t');
    const { reports, runs } = reportsOf(source, { maxRunning: 2, maxRows: 100, ttlMs: 60_000, staleMs: 30_000 });
    const report = await reports.create(tenantId, apiKey, { type: 'bookings', format: 'csv' });
    await eventually(async () => (await reports.get(tenantId, apiKey, report.id)).status === 'failed', 10_000);
    await Promise.all(runs);
    return reports.get(tenantId, apiKey, report.id);
  }

  it('reports - a source slower to count than the stale time is not taken for dead by the sweep: the report is written once', async () => {
    const tenantId = uniqueName('t');
    const staleMs = 600;
    let counted = 0;
    const source: ReportSource = {
      async count() {
        counted++;
        // Several times the stale time without a row, as a count over a large range may take.
        await new Promise((resolve) => setTimeout(resolve, staleMs * 4));
        return 3;
      },
      async *rows(): AsyncGenerator<ReportRow> {
        for (let i = 0; i < 3; i++) yield { bookingId: `bk_${i}`, sessionId: 'ses_1', adults: 1 };
      },
    };
    const { reports, runs } = reportsOf(source, { maxRunning: 2, maxRows: 100, ttlMs: 60_000, staleMs });
    const report = await reports.create(tenantId, apiKey, { type: 'bookings', format: 'ndjson' });
    // The sweep runs all along, as often as a busy service's would at this stale time.
    let sweeping = true;
    const sweep = (async () => {
      while (sweeping) {
        await reports.purge();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      await eventually(async () => ['ready', 'failed'].includes((await reports.get(tenantId, apiKey, report.id)).status), 20_000);
    } finally {
      sweeping = false;
      await sweep;
      await Promise.all(runs);
    }
    expect(await reports.get(tenantId, apiKey, report.id)).toMatchObject({ status: 'ready', rows: 3 });
    expect(counted).toBe(1);
  }, 30_000);
  it('reports - a report with more rows than the limit fails naming its count, and keeps no file', async () => {
    const source: ReportSource = {
      async count() {
        return 150;
      },
      async *rows(): AsyncGenerator<ReportRow> {
        for (let i = 0; i < 150; i++) yield { bookingId: `bk_${i}`, sessionId: 'ses_1', adults: 1 };
      },
    };
    const failed = await failedReport(source);
    expect(failed.error).toContain('150 rows; at most 100');
    expect(await mongo.db.collection('report_chunks').countDocuments({ reportId: failed.id })).toBe(0);
  });
  it('reports - an uncounted source with more rows than the limit fails while its rows are written, and keeps no file', async () => {
    let yielded = 0;
    const source: ReportSource = {
      timeOf: (row) => row.date as string,
      async *rows(): AsyncGenerator<ReportRow> {
        for (let i = 0; i < 150; i++) {
          yielded++;
          yield { bookingId: `bk_${i}`, sessionId: 'ses_1', date: '2026-03-01', adults: 1 };
        }
      },
    };
    const failed = await failedReport(source);
    expect(failed.error).toContain('more than 100 rows; at most 100');
    expect(yielded).toBe(101);
    expect(await mongo.db.collection('report_chunks').countDocuments({ reportId: failed.id })).toBe(0);
  });
  it('reports - the percentage of an uncounted source is the share of the time from its first row to its end behind the row being written', async () => {
    const tenantId = uniqueName('t');
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Ten days, which end before the query's range does; the sixth's row comes after the progress
    // interval, then the rows wait.
    const source: ReportSource = {
      timeOf: (row) => row.date as string,
      endOf: async () => '2026-03-11',
      async *rows(): AsyncGenerator<ReportRow> {
        for (let day = 1; day <= 10; day++) {
          if (day === 6) await new Promise((resolve) => setTimeout(resolve, 600));
          yield { bookingId: `bk_${day}`, sessionId: 'ses_1', date: `2026-03-${String(day).padStart(2, '0')}`, adults: 1 };
          if (day === 6) await released;
        }
      },
    };
    const { reports, runs } = reportsOf(source, { maxRunning: 2, maxRows: 100, ttlMs: 60_000, staleMs: 30_000 });
    const report = await reports.create(tenantId, apiKey, { type: 'bookings', format: 'csv', from: '2026-02-01', to: '2026-03-31' });
    try {
      await eventually(async () => (await reports.get(tenantId, apiKey, report.id)).rows === 6, 10_000);
      expect(await reports.get(tenantId, apiKey, report.id)).toMatchObject({ status: 'running', percentage: 50 });
    } finally {
      release();
      await Promise.all(runs);
    }
    expect(await reports.get(tenantId, apiKey, report.id)).toMatchObject({ status: 'ready', percentage: 100, rows: 10 });
  });
});
