/**
 * Booking throughput of the real stack against this machine's database ceiling, both measured
 * in this run, plus the zero-oversell and nothing-lost checks.
 *
 * Baseline: bare FerretDB guarded `findOneAndUpdate` with 32 concurrent callers
 * (`mongoFindOneAndUpdate`, the same measurement as `make bench-baseline`), before any service runs.
 * Measured: `POST /v1/bookings` through the real gateway (`services/gateway/src/main.ts`) to the
 * real capacity service (`services/capacity/src/main.ts`), each in its own child process on the
 * run's own nats-server and FerretDB. Load: 50 closed-loop clients in this process, each `fetch`
 * (Node's built-in undici, keep-alive connections by default) waiting for its answer before the
 * next request, so every request sent is answered and counted (no request is cut off at the end).
 *
 * Scenarios: (a) hot key — every booking on one session/date; (b) spread — round-robin over 100
 * sessions on the same date. Only 201s count as bookings; anything else is reported apart.
 * Checks: a burst of 300 concurrent bookings (1–3 adults) on a session of capacity 100 takes at
 * most 100 slots and `GET /v1/capacity/check` agrees; every 201 of the hot scenario shows up in
 * `GET /v1/bookings` paging; every session's ledger has booked exactly the slots of its 201s.
 *
 * Env: BENCH_SECONDS (default 5) per figure, BENCH_WARMUP_SECONDS (default 1) of load before each
 * scenario (on the same keys, counted in the checks, not in the figures), BENCH_LOG_LEVEL
 * (default warn) for the children. Writes bench/results/capacity-bookings.{json,md}.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, spawnGuarded, startInfra } from '@allot/infra';
import { MongoClient } from 'mongodb';
import { createTenant, newRootKey, root, round, versions, writeResults } from '../gateway/common';
import { cpuTimes } from '../lib/cpu';
import { machineInfo, mongoFindOneAndUpdate } from '../lib/measure';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
const clients = 50;
const spreadSessions = 100;
const hotCapacity = 1_000_000;
const burstRequests = 300;
const burstCapacity = 100;
// Issue 8's targets: group commit makes a hot date cheaper than one bare guarded write per booking.
const targets = { spreadToBaseline: 0.6, hotToBaseline: 2.0 };
const requestTimeoutMs = 10_000;
/** Tomorrow (UTC), so the run cannot cross midnight into "a past date". */
const date = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Child processes: the real service entry points, under guard.sh (stopped if this process dies).

interface Child {
  name: string;
  process: ChildProcess;
  /** Log lines at warn or above, and anything that is not a JSON log line. */
  warnings: number;
  errors: number;
  samples: string[];
  /** Counts when the stop began, so what shutdown logged is told apart. */
  atStop?: { warnings: number; errors: number };
  exited: { code: number | null; signal: string | null } | null;
}

function runService(name: string, entry: string, env: Record<string, string>): Child {
  const proc = spawnGuarded(process.execPath, ['--import', 'tsx', path.join(root, entry)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child: Child = { name, process: proc, warnings: 0, errors: 0, samples: [], exited: null };
  const onLine = (line: string) => {
    if (!line.trim()) return;
    let level = 'raw';
    try {
      level = String((JSON.parse(line) as { level?: unknown }).level ?? 'raw');
    } catch {}
    if (level === 'error' || level === 'fatal' || level === 'raw') child.errors++;
    else if (level === 'warn') child.warnings++;
    else return;
    if (child.samples.length < 5) child.samples.push(`${child.atStop ? '(during stop) ' : ''}${line.slice(0, 500)}`);
    console.log(`[${name}] ${line.slice(0, 500)}`);
  };
  createInterface({ input: proc.stdout! }).on('line', onLine);
  createInterface({ input: proc.stderr! }).on('line', onLine);
  proc.once('exit', (code, signal) => {
    child.exited = { code, signal };
  });
  return child;
}

/** SIGTERM (guard.sh passes it on and waits for the service), SIGKILL after 15 s. */
async function stopService(child: Child): Promise<void> {
  child.atStop ??= { warnings: child.warnings, errors: child.errors };
  const proc = child.process;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    proc.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

async function waitReady(base: string, children: Child[]) {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    const dead = children.find((c) => c.exited);
    if (dead) throw new Error(`${dead.name} exited before ready (${JSON.stringify(dead.exited)}): ${dead.samples.join('\n')}`);
    try {
      const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch (error) {
      last = String(error);
    }
    await sleep(200);
  }
  throw new Error(`gateway /readyz not 200 within 60 s; last: ${last}`);
}

// ---------------------------------------------------------------------------------------------
// CPU accounting: the whole machine (os.cpus) and each process this run started (/proc).

/** CPU seconds so far of every descendant of this process, by a short name (Linux only). */
function descendantCpu(): Record<string, number> {
  const out: Record<string, number> = {};
  const ticks = 100; // USER_HZ on Linux
  const walk = (pid: number) => {
    const taskDir = `/proc/${pid}/task`;
    if (!existsSync(taskDir)) return;
    for (const tid of readdirSync(taskDir)) {
      let kids: string[] = [];
      try {
        kids = readFileSync(`${taskDir}/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      } catch {}
      for (const kid of kids.map(Number)) {
        try {
          const cmd = readFileSync(`/proc/${kid}/cmdline`, 'utf8').split('\0').filter(Boolean);
          const stat = readFileSync(`/proc/${kid}/stat`, 'utf8');
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          const cpu = (Number(fields[11]) + Number(fields[12])) / ticks;
          const joined = cmd.join(' ');
          const name = joined.includes('services/gateway/')
            ? 'gateway'
            : joined.includes('services/capacity/')
              ? 'capacity'
              : joined.includes('ferretdb')
                ? 'ferretdb'
                : joined.includes('nats-server')
                  ? 'nats-server'
                  : undefined;
          if (name && !cmd[0]?.endsWith('bash') && !cmd[0]?.endsWith('guard.sh')) out[name] = (out[name] ?? 0) + cpu;
        } catch {}
        walk(kid);
      }
    }
  };
  walk(process.pid);
  return out;
}

interface CpuMark {
  machine: { busy: number; all: number };
  self: NodeJS.CpuUsage;
  procs: Record<string, number>;
  at: number;
}
const cpuMark = (): CpuMark => ({ machine: cpuTimes(), self: process.cpuUsage(), procs: descendantCpu(), at: performance.now() });
/** % of one core per process (100 = one core busy), and the machine's busy share of all cores. */
function cpuSince(before: CpuMark) {
  const now = cpuMark();
  const seconds = (now.at - before.at) / 1000;
  const self = process.cpuUsage(before.self);
  const perProcess: Record<string, number> = {
    'load generator (this process)': round(((self.user + self.system) / 1e6 / seconds) * 100, 0),
  };
  for (const [name, cpu] of Object.entries(now.procs)) perProcess[name] = round(((cpu - (before.procs[name] ?? 0)) / seconds) * 100, 0);
  const machineBusy = (now.machine.busy - before.machine.busy) / (now.machine.all - before.machine.all);
  const ours = Object.values(perProcess).reduce((a, b) => a + b, 0);
  // Whatever else runs on this machine (another benchmark, a test run) competes for the same cores.
  perProcess['everything else on the machine'] = Math.max(0, round(machineBusy * os.cpus().length * 100 - ours, 0));
  return { percentOfOneCore: perProcess, machineBusyPercentOfAllCores: round(machineBusy * 100, 0) };
}

// ---------------------------------------------------------------------------------------------
// HTTP as a client.

interface Reply {
  status: number;
  body: any;
  text: string;
}

async function call(base: string, key: string, method: string, urlPath: string, body?: unknown): Promise<Reply> {
  const res = await fetch(base + urlPath, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
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

/** What a booking request came to: "201", "409 capacity_exhausted", "500 internal", "error TimeoutError", ... */
async function book(
  base: string,
  key: string,
  input: { sessionId: string; adults: number },
): Promise<{ outcome: string; booking?: { id: string; sessionId: string; slots: number; status: string } }> {
  try {
    const r = await call(base, key, 'POST', '/v1/bookings', { sessionId: input.sessionId, date, adults: input.adults });
    if (r.status === 201) return { outcome: '201', booking: r.body };
    return { outcome: `${r.status} ${r.body?.code ?? r.text.slice(0, 60)}` };
  } catch (error) {
    return { outcome: `error ${(error as Error).name}: ${(error as Error).message}`.slice(0, 120) };
  }
}

/** Every 201 this run received, per session: what the ledgers and the lists must show. */
const confirmed = new Map<string, { ids: Set<string>; slots: number }>();
/**
 * Requests whose outcome is unknown, per session: a timeout or connection error here, or a 5xx
 * from the gateway (503 `upstream_unavailable` is its RPC deadline: the service may still book).
 */
const unknown = new Map<string, { requests: number; slots: number }>();
const unknownTotal = () => [...unknown.values()].reduce((sum, u) => sum + u.requests, 0);

function record(outcome: string, sessionId: string, adults: number, booking?: { id: string; sessionId: string; slots: number }) {
  if (booking) {
    const entry = confirmed.get(booking.sessionId) ?? { ids: new Set<string>(), slots: 0 };
    entry.ids.add(booking.id);
    entry.slots += booking.slots;
    confirmed.set(booking.sessionId, entry);
  } else if (outcome.startsWith('error') || outcome.startsWith('5')) {
    const entry = unknown.get(sessionId) ?? { requests: 0, slots: 0 };
    entry.requests++;
    entry.slots += adults;
    unknown.set(sessionId, entry);
  }
}

const percentile = (sorted: number[], q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);

interface Scenario {
  seconds: number;
  requests: number;
  confirmed: number;
  confirmedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  confirmedP50Ms: number;
  confirmedP99Ms: number;
  outcomes: Record<string, number>;
  clean: boolean;
}

/** `clients` closed-loop callers booking for `duration` s; `pick(n)` chooses the n-th request's session. */
async function drive(base: string, key: string, duration: number, pick: (n: number) => string): Promise<Scenario> {
  const all: number[] = [];
  const ok: number[] = [];
  const outcomes: Record<string, number> = {};
  let n = 0;
  const started = performance.now();
  const end = started + duration * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const sessionId = pick(n++);
        const t = performance.now();
        const { outcome, booking } = await book(base, key, { sessionId, adults: 1 });
        const ms = performance.now() - t;
        all.push(ms);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        record(outcome, sessionId, 1, booking);
        if (booking) ok.push(ms);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  all.sort((a, b) => a - b);
  ok.sort((a, b) => a - b);
  return {
    seconds: round(elapsed, 3),
    requests: all.length,
    confirmed: ok.length,
    confirmedPerSecond: round(ok.length / elapsed),
    p50Ms: percentile(all, 0.5),
    p99Ms: percentile(all, 0.99),
    confirmedP50Ms: percentile(ok, 0.5),
    confirmedP99Ms: percentile(ok, 0.99),
    outcomes,
    clean: ok.length === all.length,
  };
}

async function createSession(base: string, key: string, name: string, maxCapacity: number): Promise<string> {
  const r = await call(base, key, 'POST', '/v1/sessions', { name, maxCapacity });
  if (r.status !== 201) throw new Error(`session creation failed: ${r.status} ${r.text}`);
  return r.body.id as string;
}

async function availableSlots(base: string, key: string, sessionId: string): Promise<number> {
  const r = await call(base, key, 'GET', `/v1/capacity/check?sessionId=${sessionId}&date=${date}&slots=1`);
  if (r.status !== 200) throw new Error(`capacity check failed: ${r.status} ${r.text}`);
  return r.body.availableSlots as number;
}

/** Pages `GET /v1/bookings?status=confirmed` of one session/date to the end (or the deadline). */
async function listConfirmed(base: string, key: string, sessionId: string, deadline: number) {
  const ids = new Set<string>();
  let slots = 0;
  let pages = 0;
  let duplicates = 0;
  let cursor: string | null = null;
  let complete = false;
  const started = performance.now();
  while (Date.now() < deadline) {
    const q = `sessionId=${sessionId}&date=${date}&status=confirmed&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await call(base, key, 'GET', `/v1/bookings?${q}`);
    if (r.status !== 200) throw new Error(`list failed: ${r.status} ${r.text}`);
    pages++;
    for (const b of r.body.items as { id: string; slots: number }[]) {
      if (ids.has(b.id)) duplicates++;
      else {
        ids.add(b.id);
        slots += b.slots;
      }
    }
    cursor = r.body.nextCursor;
    if (!cursor) {
      complete = true;
      break;
    }
  }
  return { ids, slots, pages, duplicates, complete, ms: round(performance.now() - started, 0) };
}

/**
 * Bookings reach the list through the outbox (materialised before their event is announced), so
 * the list may trail the 201s for a moment: pages again until every 201 is there or 30 s passed.
 */
async function checkListed(base: string, key: string, sessionId: string) {
  const expected = confirmed.get(sessionId) ?? { ids: new Set<string>(), slots: 0 };
  const deadline = Date.now() + 30_000;
  const started = performance.now();
  let attempts = 0;
  for (;;) {
    attempts++;
    const listed = await listConfirmed(base, key, sessionId, deadline);
    const missing = [...expected.ids].filter((id) => !listed.ids.has(id));
    const extra = [...listed.ids].filter((id) => !expected.ids.has(id));
    const done = listed.complete && missing.length === 0;
    if (done || Date.now() >= deadline) {
      return {
        received201: expected.ids.size,
        listed: listed.ids.size,
        missing: missing.length,
        missingSample: missing.slice(0, 5),
        listedWithout201: extra.length,
        duplicatesAcrossPages: listed.duplicates,
        pages: listed.pages,
        complete: listed.complete,
        lastPagingMs: listed.ms,
        attempts,
        secondsUntilAllListed: done ? round((performance.now() - started) / 1000, 2) : null,
        pass: done && listed.duplicates === 0 && extra.length <= (unknown.get(sessionId)?.requests ?? 0),
      };
    }
    await sleep(1000);
  }
}

// ---------------------------------------------------------------------------------------------

/** FerretDB's (or MongoDB's) command counters from `serverStatus`: every client of the database. */
async function dbCommands(client: MongoClient): Promise<Record<string, number>> {
  try {
    const status = await client.db('admin').command({ serverStatus: 1 });
    const commands = (status.metrics?.commands ?? {}) as Record<string, { total?: unknown }>;
    return Object.fromEntries(Object.entries(commands).map(([name, c]) => [name, Number(c.total ?? 0)]));
  } catch {
    return {};
  }
}

function perBooking(before: Record<string, number>, after: Record<string, number>, bookings: number) {
  const out: Record<string, number> = {};
  let total = 0;
  for (const [name, n] of Object.entries(after)) {
    const delta = n - (before[name] ?? 0);
    if (delta <= 0 || name === 'serverStatus') continue;
    out[name] = round(delta / Math.max(1, bookings), 2);
    total += delta;
  }
  return { total: round(total / Math.max(1, bookings), 2), byCommand: out };
}

/**
 * Waits until the capacity service has nothing left to do: its CPU below 3 % of a core for two
 * half-second samples in a row (requests the gateway gave up on still run there), or `limitMs`.
 */
async function waitQuiet(limitMs: number): Promise<{ quiet: boolean; seconds: number }> {
  const started = performance.now();
  let calm = 0;
  while (performance.now() - started < limitMs) {
    const before = descendantCpu().capacity ?? 0;
    await sleep(500);
    const used = (descendantCpu().capacity ?? 0) - before;
    calm = used / 0.5 < 0.03 ? calm + 1 : 0;
    if (calm >= 2) return { quiet: true, seconds: round((performance.now() - started) / 1000, 1) };
  }
  return { quiet: false, seconds: round((performance.now() - started) / 1000, 1) };
}

const infra = await startInfra();
const children: Child[] = [];
let admin: MongoClient | undefined;
const stamp = Date.now();
const dbs = { capacity: `bench_capacity_${stamp}`, gateway: `bench_capgw_${stamp}` };
try {
  console.log(`baseline: FerretDB guarded findOneAndUpdate, 32 callers, ${seconds} s ...`);
  const mark = cpuMark();
  const baseline = await mongoFindOneAndUpdate(infra.mongoUrl, seconds);
  const baselineCpu = cpuSince(mark);
  console.log(`baseline: ${baseline.perSecond}/s (p50 ${baseline.p50Ms} ms, p99 ${baseline.p99Ms} ms); cpu ${JSON.stringify(baselineCpu)}`);
  admin = await new MongoClient(infra.mongoUrl).connect();

  const common = { NATS_URL: infra.natsUrl, MONGO_URL: infra.mongoUrl, LOG_LEVEL: logLevel };
  children.push(runService('capacity', 'services/capacity/src/main.ts', { ...common, MONGO_DB: dbs.capacity, PORT: '0' }));
  const rootKey = newRootKey();
  const port = await freePort();
  children.push(
    runService('gateway', 'services/gateway/src/main.ts', {
      ...common,
      MONGO_DB: dbs.gateway,
      PORT: String(port),
      ROOT_API_KEY: rootKey,
      USER_TOKEN_SECRET: randomBytes(32).toString('hex'),
      OPS_PORT: '0',
      READY_SERVICES: 'capacity',
      RATE_LIMIT_PER_SECOND: '100000000',
      RATE_LIMIT_BURST: '100000000',
    }),
  );
  const base = `http://127.0.0.1:${port}`;
  await waitReady(base, children);
  console.log(`gateway ready on ${base}`);

  const { key } = await createTenant(base, rootKey, 'Capacity bench');
  const hotSession = await createSession(base, key, 'Hot session', hotCapacity);
  const spread: string[] = [];
  for (let i = 0; i < spreadSessions; i += 10) {
    spread.push(
      ...(await Promise.all(Array.from({ length: 10 }, (_, j) => createSession(base, key, `Spread session ${i + j}`, hotCapacity)))),
    );
  }

  async function scenario(name: string, pick: (n: number) => string) {
    if (warmupSeconds > 0) {
      console.log(`${name}: warm-up ${warmupSeconds} s ...`);
      await drive(base, key, warmupSeconds, pick);
    }
    await waitQuiet(10_000);
    console.log(`${name}: ${clients} clients for ${seconds} s ...`);
    const commandsBefore = await dbCommands(admin!);
    const cpuBefore = cpuMark();
    const result = await drive(base, key, seconds, pick);
    const cpu = cpuSince(cpuBefore);
    const dbCommandsPerBooking = perBooking(commandsBefore, await dbCommands(admin!), result.confirmed);
    console.log(
      `${name}: ${result.confirmedPerSecond} confirmed/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ${JSON.stringify(result.outcomes)}`,
    );
    console.log(`${name}: cpu ${JSON.stringify(cpu)}; db commands per booking ${JSON.stringify(dbCommandsPerBooking)}`);
    const settled = await waitQuiet(30_000);
    return { result, cpu, dbCommandsPerBooking, settled };
  }
  const hot = await scenario('hot', () => hotSession);
  const spreadRun = await scenario(`spread over ${spreadSessions} sessions`, (n) => spread[n % spread.length]!);

  // Zero oversell: 300 at once on capacity 100.
  console.log(`oversell: ${burstRequests} concurrent bookings (1–3 adults) on a session of capacity ${burstCapacity} ...`);
  const burstSession = await createSession(base, key, 'Burst session', burstCapacity);
  const burstOutcomes: Record<string, { count: number; minMs: number; maxMs: number }> = {};
  let burstSlots = 0;
  let burstBookings = 0;
  let burstWrongReplies = 0;
  const burstStarted = performance.now();
  await Promise.all(
    Array.from({ length: burstRequests }, async (_, i) => {
      const adults = 1 + (i % 3);
      const t = performance.now();
      const { outcome, booking } = await book(base, key, { sessionId: burstSession, adults });
      const ms = round(performance.now() - t, 0);
      const o = burstOutcomes[outcome] ?? { count: 0, minMs: ms, maxMs: ms };
      burstOutcomes[outcome] = { count: o.count + 1, minMs: Math.min(o.minMs, ms), maxMs: Math.max(o.maxMs, ms) };
      record(outcome, burstSession, adults, booking);
      if (booking) {
        burstBookings++;
        burstSlots += booking.slots;
        if (booking.slots !== adults || booking.status !== 'confirmed') burstWrongReplies++;
      }
    }),
  );
  const burstMs = round(performance.now() - burstStarted, 0);
  const availableRightAfter = await availableSlots(base, key, burstSession);
  const burstSettled = await waitQuiet(30_000);
  const burstAvailable = await availableSlots(base, key, burstSession);
  const burstListed = await checkListed(base, key, burstSession);
  const burstList = await listConfirmed(base, key, burstSession, Date.now() + 10_000);
  const burstUnknown = unknown.get(burstSession) ?? { requests: 0, slots: 0 };
  const bookedByLedger = burstCapacity - burstAvailable;
  const oversell = {
    requests: burstRequests,
    maxCapacity: burstCapacity,
    ms: burstMs,
    outcomes: burstOutcomes,
    confirmedBookings: burstBookings,
    slotsOf201s: burstSlots,
    repliesWithWrongSlotsOrStatus: burstWrongReplies,
    requestsWithUnknownOutcome: burstUnknown,
    availableSlotsRightAfterTheReplies: availableRightAfter,
    waitedForTheServiceToSettle: burstSettled,
    availableSlotsReported: burstAvailable,
    bookedByLedger,
    listedConfirmedBookings: burstList.ids.size,
    listedConfirmedSlots: burstList.slots,
    listing: burstListed,
    /** As specified: slots of the 201s ≤ capacity and availableSlots = capacity − those slots. */
    strictCheck: burstSlots <= burstCapacity && burstAvailable === burstCapacity - burstSlots && burstWrongReplies === 0,
    /** The invariant: never more booked than exists, ledger = list, every 201 listed, extras only from unknown outcomes. */
    noOversell:
      bookedByLedger <= burstCapacity &&
      burstList.slots === bookedByLedger &&
      burstListed.missing === 0 &&
      burstListed.duplicatesAcrossPages === 0 &&
      burstListed.listedWithout201 <= burstUnknown.requests &&
      bookedByLedger - burstSlots <= burstUnknown.slots &&
      burstWrongReplies === 0 &&
      Object.keys(burstOutcomes).every((o) => o === '201' || o === '409 capacity_exhausted' || o.startsWith('503 ')),
  };
  console.log(`oversell: ${JSON.stringify({ ...oversell, listing: undefined })}`);

  // Nothing lost: every 201 of the hot key is listed; every ledger booked exactly its 201s' slots.
  console.log('nothing lost: paging GET /v1/bookings of the hot session ...');
  const hotListed = await checkListed(base, key, hotSession);
  console.log(`nothing lost (hot list): ${JSON.stringify({ ...hotListed, missingSample: undefined })}`);
  const ledgerMismatches: { sessionId: string; bookedByLedger: number; slotsOf201s: number; slotsOfUnknownOutcomes: number }[] = [];
  const ledgerSessions = [hotSession, ...spread];
  let hotBookedByLedger = 0;
  for (let i = 0; i < ledgerSessions.length; i += 10) {
    await Promise.all(
      ledgerSessions.slice(i, i + 10).map(async (sessionId) => {
        const booked = hotCapacity - (await availableSlots(base, key, sessionId));
        if (sessionId === hotSession) hotBookedByLedger = booked;
        const slots = confirmed.get(sessionId)?.slots ?? 0;
        const maybe = unknown.get(sessionId)?.slots ?? 0;
        if (booked < slots || booked > slots + maybe)
          ledgerMismatches.push({ sessionId, bookedByLedger: booked, slotsOf201s: slots, slotsOfUnknownOutcomes: maybe });
      }),
    );
  }
  const spreadSlots = spread.reduce((sum, s) => sum + (confirmed.get(s)?.slots ?? 0), 0);
  const ledgers = {
    sessionsChecked: ledgerSessions.length,
    hotBookedByLedger,
    hotSlotsOf201s: confirmed.get(hotSession)?.slots ?? 0,
    spreadSlotsOf201s: spreadSlots,
    mismatches: ledgerMismatches,
    requestsWithUnknownOutcome: unknownTotal(),
    pass: ledgerMismatches.length === 0,
  };
  console.log(`nothing lost (ledgers): ${JSON.stringify(ledgers)}`);

  // Stop the services before reporting, so what they log while stopping is in the report too.
  await Promise.all(children.map(stopService));
  const serviceLog = children.map((c) => ({
    name: c.name,
    warnLinesWhileRunning: c.atStop?.warnings ?? c.warnings,
    errorLinesWhileRunning: c.atStop?.errors ?? c.errors,
    warnLinesWhileStopping: c.warnings - (c.atStop?.warnings ?? c.warnings),
    errorLinesWhileStopping: c.errors - (c.atStop?.errors ?? c.errors),
    samples: c.samples,
    exit: c.exited,
  }));

  const ratios = {
    spreadToBaseline: round(spreadRun.result.confirmedPerSecond / baseline.perSecond, 3),
    hotToBaseline: round(hot.result.confirmedPerSecond / baseline.perSecond, 3),
  };
  const verdictOf = (what: string, s: Scenario, ratio: number, target: number) => {
    const met = s.clean && ratio >= target;
    const dirty = s.clean ? '' : `; not clean: ${JSON.stringify(s.outcomes)}`;
    return {
      met,
      text: `${met ? 'MET' : 'NOT MET'}: ${what} ${s.confirmedPerSecond} confirmed bookings/s = ${ratio} × bare findOneAndUpdate (${baseline.perSecond}/s); target ≥ ${target}${dirty}`,
    };
  };
  const lostMet = hotListed.pass && ledgers.pass;
  const extraBooked = bookedByLedger - burstSlots;
  const verdicts = {
    spread: verdictOf(`spread (${spreadSessions} sessions)`, spreadRun.result, ratios.spreadToBaseline, targets.spreadToBaseline),
    hot: verdictOf('hot key', hot.result, ratios.hotToBaseline, targets.hotToBaseline),
    zeroOversell: {
      met: oversell.noOversell,
      text: `${oversell.noOversell ? 'PASS' : 'FAIL'}: ${bookedByLedger} of ${burstCapacity} slots booked by the ledger after ${burstRequests} concurrent requests; the list shows ${burstList.ids.size} confirmed bookings for ${burstList.slots} slots; every 201 is listed`,
    },
    strictAccounting: {
      met: oversell.strictCheck,
      text: `${oversell.strictCheck ? 'PASS' : 'FAIL'}: the 201s took ${burstSlots} slots; capacity check reports ${burstAvailable} available (expected ${burstCapacity - burstSlots})${
        extraBooked > 0
          ? ` — ${burstListed.listedWithout201} bookings (${extraBooked} slots) were made for requests that got no 201 (${burstUnknown.requests} requests with an unknown outcome: ${Object.entries(
              burstOutcomes,
            )
              .filter(([o]) => o !== '201' && o !== '409 capacity_exhausted')
              .map(([o, v]) => `${v.count} × ${o}`)
              .join(', ')})`
          : ''
      }`,
    },
    nothingLost: {
      met: lostMet,
      text: `${lostMet ? 'PASS' : 'FAIL'}: hot session ${hotListed.received201} 201s, ${hotListed.listed} listed (${hotListed.missing} missing, ${hotListed.listedWithout201} without a 201, ${hotListed.duplicatesAcrossPages} duplicates, ${hotListed.pages} pages, ${hotListed.complete ? 'paged to the end' : 'INCOMPLETE paging'}); ledgers of ${ledgers.sessionsChecked} sessions: ${ledgerMismatches.length} disagree with the 201s`,
    },
  };

  const report = {
    measuredAt: new Date().toISOString(),
    seconds,
    warmupSeconds,
    clients,
    date,
    machine: machineInfo(),
    versions: versions(),
    layout:
      'load generator (50 closed-loop fetch clients, Node built-in undici keep-alive) in the benchmark process; gateway and capacity service (their real main.ts) in one child process each; nats-server and FerretDB (SQLite) local',
    baseline: { ferretFindOneAndUpdate32Callers: baseline, cpu: baselineCpu },
    measured: { hotKey: hot.result, spread100Sessions: spreadRun.result },
    cpuDuringLoad: { hotKey: hot.cpu, spread100Sessions: spreadRun.cpu },
    dbCommandsPerConfirmedBooking: { hotKey: hot.dbCommandsPerBooking, spread100Sessions: spreadRun.dbCommandsPerBooking },
    settleAfterLoad: { hotKey: hot.settled, spread100Sessions: spreadRun.settled },
    ratios,
    targets,
    zeroOversell: oversell,
    nothingLost: { hotSessionListing: hotListed, ledgers },
    serviceLog,
    verdicts,
  };

  const m = report.machine;
  const v = report.versions;
  const row = (what: string, s: Scenario, ratio: number, target: number) =>
    `| ${what} | ${s.confirmedPerSecond} | ${s.p50Ms} | ${s.p99Ms} | ${s.requests} | ${s.confirmed} | ${s.requests - s.confirmed} | **${ratio}** | ≥ ${target} |`;
  const cpuLine = (what: string, c: ReturnType<typeof cpuSince>) =>
    `- ${what}: ${Object.entries(c.percentOfOneCore)
      .map(([k, p]) => `${k} ${p}`)
      .join(', ')}; machine ${c.machineBusyPercentOfAllCores}% busy (all ${m.cores} cores)`;
  const dbLine = (what: string, d: ReturnType<typeof perBooking>) =>
    `- ${what}: ${d.total} (${Object.entries(d.byCommand)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')})`;
  const md = [
    '# Capacity: booking throughput, zero oversell, nothing lost',
    '',
    `Measured ${report.measuredAt} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, ${m.platform};`,
    `nats-server ${v.NATS_SERVER_VERSION}, FerretDB ${v.FERRETDB_VERSION} (SQLite). ${seconds} s per figure, each after a ${warmupSeconds} s warm-up on the same keys.`,
    `Layout: ${report.layout}. Bookings for ${date} (UTC), 1 adult each; sessions of capacity ${hotCapacity.toLocaleString('en')}, so none runs out.`,
    '',
    '`POST /v1/bookings` through the real gateway (API key; rate limit set out of the way; default 5 s RPC timeout) to the real capacity',
    'service. Each client waits for its answer before sending the next request, so every request is answered and counted.',
    'Only 201s count as bookings; the latency columns cover every request.',
    '',
    '| what | confirmed/s | p50 ms | p99 ms | requests | 201 | other | ratio to baseline | target |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| baseline: bare FerretDB guarded findOneAndUpdate (32 callers) | ${baseline.perSecond} | ${baseline.p50Ms} | ${baseline.p99Ms} | — | — | — | 1 | — |`,
    row('(a) hot key: one session/date', hot.result, ratios.hotToBaseline, targets.hotToBaseline),
    row(
      `(b) spread: round-robin over ${spreadSessions} sessions, one date`,
      spreadRun.result,
      ratios.spreadToBaseline,
      targets.spreadToBaseline,
    ),
    '',
    `Outcomes — hot: ${JSON.stringify(hot.result.outcomes)}; spread: ${JSON.stringify(spreadRun.result.outcomes)}.`,
    '',
    'CPU (% of one core; "everything else" is what other programs on this machine used meanwhile):',
    cpuLine('baseline', baselineCpu),
    cpuLine('hot', hot.cpu),
    cpuLine('spread', spreadRun.cpu),
    '',
    'Database commands per confirmed booking (FerretDB `serverStatus` counters; every client: gateway and capacity):',
    dbLine('hot', hot.dbCommandsPerBooking),
    dbLine('spread', spreadRun.dbCommandsPerBooking),
    '',
    '## Zero oversell',
    '',
    `${burstRequests} bookings (adults 1, 2, 3, 1, 2, 3, ...) sent at once on a fresh session of capacity ${burstCapacity}; all answered after ${burstMs} ms.`,
    '',
    '| outcome | count | fastest ms | slowest ms |',
    '|---|---:|---:|---:|',
    ...Object.entries(burstOutcomes).map(([o, x]) => `| ${o} | ${x.count} | ${x.minMs} | ${x.maxMs} |`),
    '',
    `The 201s: ${burstBookings} bookings for **${burstSlots} slots**. \`GET /v1/capacity/check\` right after the last answer: availableSlots ${availableRightAfter};`,
    `after the capacity service went idle (${burstSettled.quiet ? `${burstSettled.seconds} s later` : `not idle after ${burstSettled.seconds} s`}): **${burstAvailable}**, i.e. ${bookedByLedger} booked.`,
    `\`GET /v1/bookings?status=confirmed\`: ${burstList.ids.size} bookings for ${burstList.slots} slots (${burstListed.missing} of the 201s missing, ${burstListed.listedWithout201} without a 201).`,
    '',
    `- **Zero oversell — ${verdicts.zeroOversell.text}.**`,
    `- **As specified (availableSlots = ${burstCapacity} − slots of the 201s) — ${verdicts.strictAccounting.text}.**`,
    '',
    '## Nothing lost',
    '',
    `Hot session: paged \`GET /v1/bookings?sessionId&date&status=confirmed&limit=200\` to the end (${hotListed.pages} pages, last pass ${hotListed.lastPagingMs} ms, ${hotListed.attempts} pass(es);`,
    `every 201 listed ${hotListed.secondsUntilAllListed ?? '—'} s after the check began) and compared ids with the ${hotListed.received201} 201s (warm-up included):`,
    `${hotListed.listed} listed, ${hotListed.missing} missing, ${hotListed.listedWithout201} listed without a 201, ${hotListed.duplicatesAcrossPages} duplicates across pages.`,
    `Ledgers: for the hot session and all ${spreadSessions} spread sessions, booked slots by \`GET /v1/capacity/check\` (capacity − availableSlots)`,
    `against the slots of the 201s received: ${ledgerMismatches.length} disagree (hot: ledger ${ledgers.hotBookedByLedger}, 201s ${ledgers.hotSlotsOf201s}; spread 201s ${spreadSlots} slots).`,
    `Requests with an unknown outcome (5xx, timeout or connection error) in the whole run: ${unknownTotal()}.`,
    '',
    `**${verdicts.nothingLost.text}.**`,
    '',
    '## Verdicts',
    '',
    `- **Spread — ${verdicts.spread.text}**`,
    `- **Hot key — ${verdicts.hot.text}**`,
    `- **Zero oversell — ${verdicts.zeroOversell.text}**`,
    `- **201 accounting after a burst — ${verdicts.strictAccounting.text}**`,
    `- **Nothing lost — ${verdicts.nothingLost.text}**`,
    '',
    `Service logs at warn or above: ${serviceLog
      .map(
        (s) =>
          `${s.name} ${s.warnLinesWhileRunning} warn / ${s.errorLinesWhileRunning} error while running, ${s.warnLinesWhileStopping} / ${s.errorLinesWhileStopping} while stopping (exit ${s.exit?.code ?? s.exit?.signal ?? '?'})`,
      )
      .join('; ')}.`,
    '',
  ].join('\n');
  writeResults('capacity-bookings', report, md);
  console.log(md);
} finally {
  await Promise.all(children.map(stopService));
  if (admin) {
    if (process.env.MONGO_URL) {
      // External database: remove what this run wrote (a local FerretDB goes with its data directory).
      await Promise.all(
        Object.values(dbs).map((db) =>
          admin!
            .db(db)
            .dropDatabase()
            .catch(() => {}),
        ),
      );
    }
    await admin.close();
  }
  await infra.stop();
}
