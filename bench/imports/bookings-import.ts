/**
 * Imports: how fast a file of bookings is applied, against a bare `insertMany` of the same
 * documents on the same database, both measured in this run.
 *
 * Baseline: `insertMany` of BENCH_IMPORT_ROWS booking-shaped documents (1,000 a call) into a fresh
 * collection of the run's FerretDB, with no index but `_id`: the local FerretDB builds no
 * non-unique index (docs/decisions.md), so the import maintains none of the bookings' either.
 * Measured: the whole platform as `make dev` runs it (lib/targets.ts `startPlatform`: every
 * service in its own process, consuming its events). A session is imported, then a CSV of
 * BENCH_IMPORT_ROWS bookings (one seat each, spread over 100 dates) is uploaded to
 * `POST /v1/imports` and polled every 200 ms until it ends: rows applied per second = rows /
 * (time from the 202 to `completed`). Checked: the import's counts (every row created, none
 * refused). The CPU each process used in both phases is reported: it says what bounds the figure.
 *
 * Env: BENCH_IMPORT_ROWS (default 100000), BENCH_LOG_LEVEL (default warn).
 * Writes bench/results/imports.{json,md}. Target: ≥ 0.5 × the insertMany rate.
 */

import { round, sleep, versions, writeResults } from '../gateway/common';
import { cpuLine, cpuMark, cpuSince } from '../lib/cpu';
import { machineInfo } from '../lib/measure';
import { startPlatform } from '../lib/targets';

const rows = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
const dates = 100;
const target = 0.5;

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

const platform = await startPlatform();
try {
  const { base, key, admin } = platform;
  const auth = { authorization: `Bearer ${key}` };

  // Baseline: the database's own bulk insert of as many documents, into a bare collection.
  const insertMany = async () => {
    const db = admin.db(`bench_insertmany_${Date.now()}`);
    const bare = db.collection('bookings');
    const mark = cpuMark();
    const started = performance.now();
    for (let at = 0; at < rows; at += 1000) {
      const batch = Array.from({ length: Math.min(1000, rows - at) }, (_, i) => ({
        _id: `bk_${at + i}`,
        tenantId: 't',
        sessionId: 's',
        date: day(1 + ((at + i) % dates)),
        adults: 1,
        children: 0,
        slots: 1,
        status: 'confirmed',
        userId: `user-${at + i}`,
        createdAt: new Date().toISOString(),
      }));
      await bare.insertMany(batch as never[], { ordered: false });
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSince(mark);
    await db.dropDatabase();
    return { seconds: round(seconds), docsPerSecond: round(rows / seconds), cpu };
  };
  const unindexed = await insertMany();

  const upload = async (type: string, csv: string) => {
    const form = new FormData();
    form.set('type', type);
    form.set('file', new Blob([csv], { type: 'text/csv' }), `${type}.csv`);
    const res = await fetch(`${base}/v1/imports`, { method: 'POST', headers: auth, body: form });
    if (res.status !== 202) throw new Error(`upload: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  };
  const until = async (id: string) => {
    for (;;) {
      const res = await fetch(`${base}/v1/imports/${id}`, { headers: auth });
      const body = (await res.json()) as {
        status: string;
        created: number;
        failedRows: number;
        processedRows: number;
        reason: string | null;
      };
      if (['completed', 'failed', 'previewed'].includes(body.status)) return body;
      await sleep(200);
    }
  };

  await until(await upload('sessions', `externalId,name,maxCapacity\nbench,Bench,1000000\n`));
  const lines = Array.from({ length: rows }, (_, i) => `ref-${i},bench,${day(1 + (i % dates))},1,user-${i}`);
  const csv = `externalRef,sessionExternalId,date,adults,userId\n${lines.join('\n')}\n`;
  const importCpuMark = cpuMark();
  const started = performance.now();
  const id = await upload('bookings', csv);
  const done = await until(id);
  const importSeconds = (performance.now() - started) / 1000;
  const importCpu = cpuSince(importCpuMark);

  const importRate = rows / importSeconds;
  const ratio = importRate / unindexed.docsPerSecond;
  const checks = { completed: done.status === 'completed', everyRowCreated: done.created === rows, noneRefused: done.failedRows === 0 };
  const report = {
    rows,
    insertMany: { unindexed },
    import: {
      cpu: importCpu,
      seconds: round(importSeconds),
      rowsPerSecond: round(importRate),
      status: done.status,
      created: done.created,
      failedRows: done.failedRows,
    },
    ratio: round(ratio, 3),
    target,
    met: ratio >= target,
    checks,
    machine: machineInfo(),
    versions: versions(),
  };
  const md = [
    '# Imports: bookings',
    '',
    `${rows} booking rows; baseline: bare \`insertMany\` of as many documents on the same FerretDB, in this run, into a fresh collection.`,
    'The import runs on the whole platform as `make dev` starts it (every service in its own process, consuming its events).',
    '',
    '| what | seconds | per second |',
    '| --- | --- | --- |',
    `| insertMany, no index but \`_id\` (the baseline) | ${unindexed.seconds} | ${unindexed.docsPerSecond} |`,
    `| import through the gateway | ${report.import.seconds} | ${report.import.rowsPerSecond} |`,
    '',
    `Ratio ${report.ratio} (target ≥ ${target}: ${report.met ? 'met' : 'NOT met'}). Checks: ${JSON.stringify(checks)}.`,
    '',
    'CPU in % of one core while each ran:',
    '',
    `- insertMany: ${cpuLine(unindexed.cpu)}`,
    `- import: ${cpuLine(importCpu)}`,
    '',
  ].join('\n');
  writeResults('imports', report, md);
  console.log(md);
} finally {
  await platform.stop();
}
