/**
 * The load both peer-comparison benchmarks apply, and how a figure is measured and compared:
 * closed-loop clients (each waits for its answer before the next request, so every request sent
 * is answered and counted), with CPU by process and database commands per successful request
 * around each measurement.
 */
import type { MongoClient } from 'mongodb';
import { type CpuShare, cpuMark, cpuSince, waitQuiet } from './cpu';
import type { Target } from './targets';

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const requestTimeoutMs = 10_000;

export interface Reply {
  status: number;
  body: any;
  text: string;
}

/** One JSON request with the target's key (Node's built-in fetch: undici, keep-alive). */
export async function call(target: Pick<Target, 'base' | 'key'>, method: string, urlPath: string, body?: unknown): Promise<Reply> {
  const res = await fetch(target.base + urlPath, {
    method,
    headers: { authorization: `Bearer ${target.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, body: json, text };
}

/** What a request came to: "201", "409 capacity_exhausted", "error TimeoutError: ...". */
export const outcomeOf = (r: Reply) => (r.status < 300 ? String(r.status) : `${r.status} ${r.body?.code ?? r.text.slice(0, 60)}`);
export const errorOutcome = (error: unknown) => `error ${(error as Error).name}: ${(error as Error).message}`.slice(0, 120);

export interface Outcome {
  outcome: string;
  /** Counts towards the figure (a 201 booking, a 202 order). */
  ok: boolean;
  /** Work of the same client after the timed request (a read-back), outside its latency. */
  after?: () => Promise<void>;
}

export interface Scenario {
  seconds: number;
  requests: number;
  ok: number;
  okPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  okP50Ms: number;
  okP99Ms: number;
  outcomes: Record<string, number>;
  /** Every request counted towards the figure. */
  clean: boolean;
}

const percentile = (sorted: number[], q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);

/** `clients` closed-loop callers for `seconds`; `op(n)` sends the n-th request. */
export async function drive(clients: number, seconds: number, op: (n: number) => Promise<Outcome>): Promise<Scenario> {
  const all: number[] = [];
  const ok: number[] = [];
  const outcomes: Record<string, number> = {};
  let n = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const r = await op(n++);
        const ms = performance.now() - t;
        all.push(ms);
        outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
        if (r.ok) ok.push(ms);
        await r.after?.();
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  all.sort((a, b) => a - b);
  ok.sort((a, b) => a - b);
  return {
    seconds: round(elapsed, 3),
    requests: all.length,
    ok: ok.length,
    okPerSecond: round(ok.length / elapsed),
    p50Ms: percentile(all, 0.5),
    p99Ms: percentile(all, 0.99),
    okP50Ms: percentile(ok, 0.5),
    okP99Ms: percentile(ok, 0.99),
    outcomes,
    clean: ok.length === all.length,
  };
}

/** FerretDB's (or MongoDB's) command counters from `serverStatus`: every client of the database. */
export async function dbCommands(client: MongoClient): Promise<Record<string, number>> {
  try {
    const status = await client.db('admin').command({ serverStatus: 1 });
    const commands = (status.metrics?.commands ?? {}) as Record<string, { total?: unknown }>;
    return Object.fromEntries(Object.entries(commands).map(([name, c]) => [name, Number(c.total ?? 0)]));
  } catch {
    return {};
  }
}

export interface PerOp {
  total: number;
  byCommand: Record<string, number>;
}

export function perOp(before: Record<string, number>, after: Record<string, number>, ops: number): PerOp {
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [name, n] of Object.entries(after)) {
    const delta = n - (before[name] ?? 0);
    if (delta <= 0 || name === 'serverStatus') continue;
    byCommand[name] = round(delta / Math.max(1, ops), 2);
    total += delta;
  }
  return { total: round(total / Math.max(1, ops), 2), byCommand };
}

export const perOpLine = (d: PerOp) =>
  `${d.total} (${Object.entries(d.byCommand)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')})`;

export interface Measured {
  result: Scenario;
  cpu: CpuShare;
  dbCommandsPerOk: PerOp;
  /** How long the target's processes took to go idle after the load (event consumers, outbox). */
  settled: { quiet: boolean; seconds: number };
}

export interface LoadShape {
  clients: number;
  seconds: number;
  /** Load on the same keys before the figure (counted in any checks, not in the figure). */
  warmupSeconds: number;
}

/** Warm-up, wait for idle, then the measured window with CPU and database counters around it. */
export async function measure(target: Target, name: string, shape: LoadShape, op: (n: number) => Promise<Outcome>): Promise<Measured> {
  const label = `${target.kind} ${name}`;
  if (shape.warmupSeconds > 0) {
    console.log(`${label}: warm-up ${shape.warmupSeconds} s ...`);
    await drive(shape.clients, shape.warmupSeconds, op);
  }
  await waitQuiet(target.busyNames, 10_000);
  console.log(`${label}: ${shape.clients} clients for ${shape.seconds} s ...`);
  const commandsBefore = await dbCommands(target.admin);
  const cpuBefore = cpuMark();
  const result = await drive(shape.clients, shape.seconds, op);
  const cpu = cpuSince(cpuBefore);
  const dbCommandsPerOk = perOp(commandsBefore, await dbCommands(target.admin), result.ok);
  console.log(`${label}: ${result.okPerSecond}/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ${JSON.stringify(result.outcomes)}`);
  console.log(`${label}: cpu ${JSON.stringify(cpu.percentOfOneCore)}; db commands per ok ${JSON.stringify(dbCommandsPerOk)}`);
  const settled = await waitQuiet(target.busyNames, 30_000);
  return { result, cpu, dbCommandsPerOk, settled };
}
