/**
 * `make bench-baseline`: measures this machine's raw limits in one run and writes them to
 * bench/results/baseline.{json,md}. Later benchmarks call the same measurements in their own
 * run and report their figures as ratios of these.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startInfra } from '@allot/local-servers';
import { honoHello, machineInfo, mongoFindOneAndUpdate, natsRequestReply, type Rate } from '../lib/measure';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const versions = Object.fromEntries(
  readFileSync(path.join(root, 'tools/local-servers/versions.env'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => l.split('=') as [string, string]),
);

const infra = await startInfra();
try {
  const results: Record<string, Rate> = {
    'Hono "hello" over HTTP (autocannon, 50 connections)': await honoHello(seconds),
    'NATS request-reply (32 in flight)': await natsRequestReply(infra.natsUrl, seconds),
    'FerretDB findOneAndUpdate (32 concurrent callers)': await mongoFindOneAndUpdate(infra.mongoUrl, seconds),
  };
  const report = { measuredAt: new Date().toISOString(), seconds, machine: machineInfo(), versions, results };
  writeFileSync(path.join(root, 'bench/results/baseline.json'), `${JSON.stringify(report, null, 2)}\n`);
  const m = report.machine;
  const md = [
    '# Baseline: raw limits of this machine',
    '',
    `Measured ${report.measuredAt} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, ${m.platform};`,
    `nats-server ${versions.NATS_SERVER_VERSION}, FerretDB ${versions.FERRETDB_VERSION} (SQLite). ${seconds} s per figure.`,
    '',
    '| what | ops/s | p50 ms | p99 ms |',
    '|---|---:|---:|---:|',
    ...Object.entries(results).map(([name, r]) => `| ${name} | ${r.perSecond} | ${r.p50Ms} | ${r.p99Ms} |`),
    '',
    'Targets of other benchmarks are ratios of these figures, measured again in the same run.',
    '',
  ].join('\n');
  writeFileSync(path.join(root, 'bench/results/baseline.md'), md);
  console.log(md);
} finally {
  await infra.stop();
}
