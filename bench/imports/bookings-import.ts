/**
 * Imports: how fast a file of bookings is applied, against a bare `insertMany` of the same
 * documents on the same database, both measured in this run.
 *
 * Baseline: `insertMany` of BENCH_IMPORT_ROWS booking-shaped documents (1,000 a call) into a fresh
 * collection of the run's FerretDB.
 * Measured: the capacity service and the gateway (in this process, on the run's own nats-server
 * and FerretDB). A session is imported, then a CSV of BENCH_IMPORT_ROWS bookings (one seat each,
 * spread over 100 dates) is uploaded to `POST /v1/imports` and polled every 200 ms until it ends:
 * rows applied per second = rows / (time from the 202 to `completed`). Checked: the import's
 * counts (every row created, none refused) and the bookings stored.
 *
 * Env: BENCH_IMPORT_ROWS (default 100000), BENCH_LOG_LEVEL (default warn).
 * Writes bench/results/imports.{json,md}. Target: ≥ 0.5 × the insertMany rate.
 */
import { startCapacity } from '@allot/capacity';
import { startGateway } from '@allot/gateway';
import { startInfra } from '@allot/local-servers';
import { MongoClient } from 'mongodb';
import { childEnv, createTenant, newRootKey, round, sleep, versions, writeResults } from '../gateway/common';
import { machineInfo } from '../lib/measure';

const rows = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
const dates = 100;
const target = 0.5;

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

const infra = await startInfra();
try {
  // Baseline: the database's own bulk insert of the same number of documents.
  const mongo = await MongoClient.connect(infra.mongoUrl);
  const bare = mongo.db(`bench_insertmany_${Date.now()}`).collection('bookings');
  const insertStarted = performance.now();
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
  const insertSeconds = (performance.now() - insertStarted) / 1000;
  await mongo.close();

  const capacity = await startCapacity(childEnv(infra, 'capacity', { IMPORT_MAX_ROWS: String(Math.max(rows, 100_000)) }));
  const rootKey = newRootKey();
  const gateway = await startGateway({
    ...childEnv(infra, 'gateway'),
    ROOT_API_KEY: rootKey,
    READY_SERVICES: 'capacity',
    RATE_LIMIT_PER_SECOND: '100000',
    RATE_LIMIT_BURST: '100000',
  });
  const base = `http://127.0.0.1:${gateway.port}`;
  const { key } = await createTenant(base, rootKey);
  const auth = { authorization: `Bearer ${key}` };

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
  const started = performance.now();
  const id = await upload('bookings', csv);
  const done = await until(id);
  const importSeconds = (performance.now() - started) / 1000;
  await gateway.stop();
  await capacity.stop();

  const importRate = rows / importSeconds;
  const insertRate = rows / insertSeconds;
  const ratio = importRate / insertRate;
  const checks = { completed: done.status === 'completed', everyRowCreated: done.created === rows, noneRefused: done.failedRows === 0 };
  const report = {
    rows,
    insertMany: { seconds: round(insertSeconds), docsPerSecond: round(insertRate) },
    import: {
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
    `${rows} booking rows; baseline: bare \`insertMany\` of as many documents on the same FerretDB, in this run.`,
    '',
    '| what | seconds | per second |',
    '| --- | --- | --- |',
    `| insertMany | ${report.insertMany.seconds} | ${report.insertMany.docsPerSecond} |`,
    `| import through the gateway | ${report.import.seconds} | ${report.import.rowsPerSecond} |`,
    '',
    `Ratio ${report.ratio} (target ≥ ${target}: ${report.met ? 'met' : 'NOT met'}). Checks: ${JSON.stringify(checks)}.`,
    '',
  ].join('\n');
  writeResults('imports', report, md);
  console.log(md);
} finally {
  await infra.stop();
}
