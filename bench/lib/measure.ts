/**
 * Raw limits of this machine, measured the same way in every benchmark run so that results are
 * reported as ratios against them (bench/README.md).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import autocannon from 'autocannon';
import { MongoClient } from 'mongodb';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface Rate {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Runs `op` from `concurrency` callers for `seconds`; returns completed ops/s and latency percentiles. */
export async function closedLoop(concurrency: number, seconds: number, op: () => Promise<unknown>): Promise<Rate> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await op();
        latencies.push(performance.now() - t);
      }
    }),
  );
  return summarize(latencies, seconds);
}

export function summarize(latencies: number[], seconds: number): Rate {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { perSecond: round(latencies.length / seconds), p50Ms: round(at(0.5)), p99Ms: round(at(0.99)) };
}

const round = (n: number) => Math.round(n * 100) / 100;

/** The middle value (the mean of the two middle ones for an even count): one odd round does not decide. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Drives an HTTP URL with autocannon (a separate load generator, not a hand-written loop). */
export async function httpLoad(
  url: string,
  options: { connections: number; seconds: number; headers?: Record<string, string> },
): Promise<Rate> {
  const result = await autocannon({ url, connections: options.connections, duration: options.seconds, headers: options.headers });
  return { perSecond: round(result.requests.average), p50Ms: result.latency.p50, p99Ms: result.latency.p99 };
}

/** Bare Hono "hello" over HTTP, served by its own process. */
export async function honoHello(seconds = 5): Promise<Rate> {
  const server = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'hello-server.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => server.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  try {
    return await httpLoad(`http://127.0.0.1:${port}/`, { connections: 50, seconds });
  } finally {
    server.kill('SIGTERM');
  }
}

/** Bare NATS request-reply round trips with 32 requests in flight. */
export async function natsRequestReply(natsUrl: string, seconds = 5): Promise<Rate> {
  const nc = await connect({ servers: natsUrl });
  const sub = nc.subscribe('bench.echo', { callback: (_e, m) => void m.respond(m.data) });
  try {
    return await closedLoop(32, seconds, () => nc.request('bench.echo', 'ping', { timeout: 5000 }));
  } finally {
    sub.unsubscribe();
    await nc.close();
  }
}

/** Bare `findOneAndUpdate` (guarded decrement, as bookings do) with 32 concurrent callers. */
export async function mongoFindOneAndUpdate(mongoUrl: string, seconds = 5): Promise<Rate> {
  const client = await new MongoClient(mongoUrl).connect();
  const counters = client.db(`bench_${Date.now()}`).collection<{ _id: number; available: number }>('counters');
  await counters.insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: i, available: 1e9 })));
  let n = 0;
  try {
    return await closedLoop(32, seconds, () =>
      counters.findOneAndUpdate({ _id: n++ % 100, available: { $gte: 1 } }, { $inc: { available: -1 } }, { returnDocument: 'after' }),
    );
  } finally {
    await client.db(counters.dbName).dropDatabase();
    await client.close();
  }
}

/**
 * CPU time (µs) this process spends per wake-up of an otherwise idle event loop, woken every
 * `intervalMs` by a timer that does nothing: the fixed price of handling one message alone. It
 * differs a lot between machines (48–166 µs on one of the virtual machines here, more than a
 * small handler's own work).
 */
export async function wakeupCpuMicros(intervalMs: number, seconds = 2): Promise<number> {
  let wakeups = 0;
  const before = process.cpuUsage();
  const timer = setInterval(() => wakeups++, intervalMs);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(timer);
  const used = process.cpuUsage(before);
  return Math.round((used.user + used.system) / Math.max(1, wakeups));
}

export function machineInfo() {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}
