/**
 * Reports: how fast a bookings report is written, against a bare cursor read of the same
 * bookings on the same database, both measured in this run, and how much the report process's
 * memory grows while it writes (a report is streamed, never held whole).
 *
 * Baseline: the report's own query (`{tenantId}` sorted by date and id) read through a bare
 * driver cursor to its end, nothing else done with the documents.
 * Measured: the capacity service in a child process and the gateway in this one (on the run's own
 * nats-server and FerretDB). BENCH_REPORT_ROWS bookings of one session (spread over 100 dates)
 * are stored straight into capacity's database, then `POST /v1/reports` asks for them in
 * BENCH_REPORT_FORMAT; rows per second = rows / (the report's `readyAt` − `createdAt`). The
 * capacity process tree's resident memory (VmRSS from /proc) is sampled every 50 ms from before
 * the request until the report is ready: growth = the highest sample − the one before. Checked:
 * the report is ready with every row, and the downloaded file holds them all.
 *
 * Env: BENCH_REPORT_ROWS (default 100000), BENCH_REPORT_FORMAT (csv | ndjson | xlsx, default csv),
 * BENCH_LOG_LEVEL (default warn). Writes bench/results/reports.{json,md}. Targets: ≥ 0.5 × the
 * cursor read's rate; memory growth < 100 MiB.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { startGateway } from '@allot/gateway';
import { startInfra } from '@allot/local-servers';
import { MongoClient } from 'mongodb';
import { childEnv, createTenant, mib, newRootKey, round, sleep, versions, writeResults } from '../gateway/common';
import { startChild, stopChild, waitReady } from '../lib/children';
import { machineInfo } from '../lib/measure';

const rows = Number(process.env.BENCH_REPORT_ROWS ?? 100_000);
const format = (process.env.BENCH_REPORT_FORMAT ?? 'csv') as 'csv' | 'ndjson' | 'xlsx';
const dates = 100;
const target = 0.5;
const memoryTargetMiB = 100;

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/** Resident memory of a process and every process under it (the child runs behind a guard). */
function treeRss(pid: number): number {
  let bytes = 0;
  try {
    const kib = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    bytes += Number(kib ?? 0) * 1024;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean);
      for (const child of children) bytes += treeRss(Number(child));
    }
  } catch {
    // The process ended between two reads.
  }
  return bytes;
}

const infra = await startInfra();
try {
  const capacityEnv = childEnv(infra, 'capacity', { REPORT_MAX_ROWS: String(Math.max(rows, 1_000_000)) });
  const capacity = startChild('capacity', 'services/capacity/src/main.ts', capacityEnv);
  const rootKey = newRootKey();
  const gateway = await startGateway({
    ...childEnv(infra, 'gateway'),
    ROOT_API_KEY: rootKey,
    READY_SERVICES: 'capacity',
    RATE_LIMIT_PER_SECOND: '100000',
    RATE_LIMIT_BURST: '100000',
  });
  const base = `http://127.0.0.1:${gateway.port}`;
  try {
    await waitReady(`${base}/readyz`, [capacity]);
    const { tenantId, key } = await createTenant(base, rootKey);
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const session = (await (
      await fetch(`${base}/v1/sessions`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'Bench', maxCapacity: 1_000_000 }) })
    ).json()) as { id: string };

    // The bookings, stored straight into capacity's database (the report reads; how they got there does not matter).
    const mongo = await MongoClient.connect(infra.mongoUrl);
    const bookings = mongo.db(capacityEnv.MONGO_DB).collection('bookings');
    const at = new Date().toISOString();
    for (let from = 0; from < rows; from += 1000) {
      const batch = Array.from({ length: Math.min(1000, rows - from) }, (_, i) => ({
        _id: `bk_bench${String(from + i).padStart(9, '0')}`,
        tenantId,
        sessionId: session.id,
        date: day(1 + ((from + i) % dates)),
        adults: 1,
        children: 0,
        slots: 1,
        bookingType: 'regular',
        userId: `user-${from + i}`,
        status: 'confirmed',
        source: 'direct',
        queueEntryId: null,
        holdExpiresAt: null,
        createdAt: at,
        updatedAt: at,
      }));
      await bookings.insertMany(batch as never[], { ordered: false });
    }

    // Baseline: the same query through a bare cursor.
    const readStarted = performance.now();
    let read = 0;
    for await (const _doc of bookings.find({ tenantId }).sort({ date: 1, _id: 1 })) read++;
    const readSeconds = (performance.now() - readStarted) / 1000;
    await mongo.close();

    const pid = capacity.process.pid as number;
    const before = treeRss(pid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, treeRss(pid));
    }, 50);
    const asked = (await (
      await fetch(`${base}/v1/reports`, { method: 'POST', headers: auth, body: JSON.stringify({ type: 'bookings', format }) })
    ).json()) as { id: string };
    let report: { status: string; rows: number; sizeBytes: number; createdAt: string; readyAt: string; error: string | null };
    for (;;) {
      report = (await (await fetch(`${base}/v1/reports/${asked.id}`, { headers: auth })).json()) as typeof report;
      if (report.status === 'ready' || report.status === 'failed') break;
      await sleep(200);
    }
    clearInterval(sampler);
    peak = Math.max(peak, treeRss(pid));
    const reportSeconds = report.readyAt ? (Date.parse(report.readyAt) - Date.parse(report.createdAt)) / 1000 : Number.NaN;

    // The file as a client downloads it, counted without keeping it.
    let downloaded = 0;
    let newlines = 0;
    const res = await fetch(`${base}/v1/reports/${asked.id}/download`, { headers: auth });
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      downloaded += chunk.length;
      if (format !== 'xlsx') for (const byte of chunk) if (byte === 10) newlines++;
    }

    const readRate = read / readSeconds;
    const reportRate = rows / reportSeconds;
    const ratio = reportRate / readRate;
    const growthMiB = mib(peak - before);
    const checks = {
      ready: report.status === 'ready',
      everyRow: report.rows === rows,
      cursorReadEveryRow: read === rows,
      downloadedWhole: downloaded === report.sizeBytes,
      ...(format === 'xlsx' ? {} : { everyLine: newlines === rows + (format === 'csv' ? 1 : 0) }),
    };
    const result = {
      rows,
      format,
      cursorRead: { seconds: round(readSeconds), rowsPerSecond: round(readRate) },
      report: { seconds: round(reportSeconds), rowsPerSecond: round(reportRate), sizeBytes: report.sizeBytes, error: report.error },
      ratio: round(ratio, 3),
      target,
      met: ratio >= target,
      memory: { beforeMiB: mib(before), peakMiB: mib(peak), growthMiB, targetMiB: memoryTargetMiB, met: growthMiB < memoryTargetMiB },
      checks,
      machine: machineInfo(),
      versions: versions(),
    };
    const md = [
      '# Reports: bookings',
      '',
      `${rows} bookings as ${format}; baseline: a bare cursor read of the same query on the same FerretDB, in this run.`,
      '',
      '| what | seconds | rows per second |',
      '| --- | --- | --- |',
      `| cursor read | ${result.cursorRead.seconds} | ${result.cursorRead.rowsPerSecond} |`,
      `| report (queued to ready) | ${result.report.seconds} | ${result.report.rowsPerSecond} |`,
      '',
      `Ratio ${result.ratio} (target ≥ ${target}: ${result.met ? 'met' : 'NOT met'}). Capacity process memory: ${result.memory.beforeMiB} MiB before, ` +
        `${result.memory.peakMiB} MiB at most while writing, growth ${growthMiB} MiB (target < ${memoryTargetMiB}: ${result.memory.met ? 'met' : 'NOT met'}). ` +
        `File ${report.sizeBytes} bytes. Checks: ${JSON.stringify(checks)}.`,
      '',
    ].join('\n');
    writeResults('reports', result, md);
    console.log(md);
  } finally {
    await gateway.stop();
    await stopChild(capacity);
  }
} finally {
  await infra.stop();
}
