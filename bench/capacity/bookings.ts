/**
 * Booking throughput of Allot against its peer, both measured in this run with the same load,
 * plus Allot's zero-oversell and nothing-lost checks.
 *
 * Peer: `bench/peer/main.ts`, the naive monolith (Hono + mongodb driver; per session/date a
 * guarded findOneAndUpdate of a counter plus an insertOne of the booking) on a FerretDB of its own.
 * Allot: the whole platform as `make dev` runs it (bench/lib/targets.ts): supplier simulator,
 * every domain service and the gateway, each its own child process on the run's own nats-server
 * and FerretDB, all consuming the events. Order: peer, Allot, peer again — each stopped before
 * the next starts; every Allot figure is a ratio to the mean of the two peer runs.
 *
 * Load: 50 closed-loop clients in this process (bench/lib/drive.ts), `POST /v1/bookings`, 1 adult.
 * Scenarios: (a) hot key — every booking on one session/date; (b) spread — round-robin over 100
 * sessions on the same date. Only 201s count as bookings; anything else is reported apart.
 * Checks on Allot: a burst of 300 concurrent bookings (1–3 adults) on a session of capacity 100
 * takes at most 100 slots and `GET /v1/capacity/check` agrees; every 201 of the hot scenario shows
 * up in `GET /v1/bookings` paging; every session's ledger has booked exactly the slots of its 201s.
 * Checks on the peer: each counter booked exactly the slots of its 201s, one stored booking each.
 *
 * Env: BENCH_SECONDS (default 5) per figure, BENCH_WARMUP_SECONDS (default 1) of load before each
 * scenario (on the same keys, counted in the checks, not in the figures), BENCH_LOG_LEVEL
 * (default warn) for the children. Writes bench/results/capacity-bookings.{json,md}.
 */
import { writeResults } from '../gateway/common';
import { sleep } from '../lib/children';
import { waitQuiet } from '../lib/cpu';
import { call, drive, errorOutcome, measure, type Outcome, outcomeOf, round } from '../lib/drive';
import { startPeer, startPlatform, type Target } from '../lib/targets';
import { analyse, type BreakdownSpec, nowMs, startTraceReceiver, tracedConsole, tracedMarkdown } from '../lib/traces';
import * as versus from '../lib/versus';

const shape = versus.shapeFromEnv();
const spreadSessions = 100;
const hotCapacity = 1_000_000;
const burstRequests = 300;
const burstCapacity = 100;
// Issue 16: a hot date is cheaper than the naive one guarded write per booking; spread at least as fast.
const targets = { hot: { ratio: 2.0, p99Ms: 100 }, spread: { ratio: 1.0, p99Ms: 100 } };
/** Seconds of each load in the traced phase (per-stage breakdown, database commands by service). */
const tracedSeconds = Number(process.env.BENCH_TRACED_SECONDS ?? 3);
/** A booking's trace: the gateway's span, the RPC to capacity, the ledger engine's stages on its server span. */
const bookingSpans: BreakdownSpec = {
  root: 'POST /v1/bookings',
  status: 201,
  rpc: 'rpc.capacity.booking.create',
  serverEvents: [
    { event: 'ledger queued', label: 'ledger queued (capacity)' },
    { event: 'ledger decided', label: 'ledger decided' },
    { event: 'ledger written', label: 'ledger written' },
    { event: 'other half written and announced', label: 'other half written and announced' },
  ],
  tickSpan: 'ledger tick',
  tickEvent: 'ledger decided',
};
/** Tomorrow (UTC), so the run cannot cross midnight into "a past date". */
const date = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

interface BookingReply {
  id: string;
  sessionId: string;
  slots: number;
  status: string;
}

/**
 * One target's 201s per session (what its ledgers and lists must show), and its requests with an
 * unknown outcome: a timeout or connection error, or a 5xx (503 `upstream_unavailable` is the
 * gateway's RPC deadline: the service may still book).
 */
class Tally {
  confirmed = new Map<string, { ids: Set<string>; slots: number }>();
  unknown = new Map<string, { requests: number; slots: number }>();
  unknownTotal = () => [...this.unknown.values()].reduce((sum, u) => sum + u.requests, 0);

  record(outcome: string, sessionId: string, adults: number, booking?: BookingReply) {
    if (booking) {
      const entry = this.confirmed.get(booking.sessionId) ?? { ids: new Set<string>(), slots: 0 };
      entry.ids.add(booking.id);
      entry.slots += booking.slots;
      this.confirmed.set(booking.sessionId, entry);
    } else if (outcome.startsWith('error') || outcome.startsWith('5')) {
      const entry = this.unknown.get(sessionId) ?? { requests: 0, slots: 0 };
      entry.requests++;
      entry.slots += adults;
      this.unknown.set(sessionId, entry);
    }
  }
}

async function book(t: Target, tally: Tally, sessionId: string, adults: number): Promise<Outcome & { booking?: BookingReply }> {
  let outcome: string;
  let booking: BookingReply | undefined;
  try {
    const r = await call(t, 'POST', '/v1/bookings', { sessionId, date, adults });
    outcome = outcomeOf(r);
    if (r.status === 201) booking = r.body;
  } catch (error) {
    outcome = errorOutcome(error);
  }
  tally.record(outcome, sessionId, adults, booking);
  return { outcome, ok: booking !== undefined, booking };
}

async function createSession(t: Target, name: string, maxCapacity: number): Promise<string> {
  const r = await call(t, 'POST', '/v1/sessions', { name, maxCapacity });
  if (r.status !== 201) throw new Error(`${t.kind}: session creation failed: ${r.status} ${r.text}`);
  return r.body.id as string;
}

/** The hot session and the spread ones. */
async function createSessions(t: Target) {
  const hotSession = await createSession(t, 'Hot session', hotCapacity);
  const spread: string[] = [];
  for (let i = 0; i < spreadSessions; i += 10) {
    spread.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => createSession(t, `Spread session ${i + j}`, hotCapacity)))));
  }
  return { hotSession, spread };
}

/** The two measured scenarios on one target. */
async function load(t: Target) {
  const tally = new Tally();
  const { hotSession, spread } = await createSessions(t);
  const hot = await measure(t, 'hot', shape, () => book(t, tally, hotSession, 1));
  const spreadRun = await measure(t, `spread over ${spreadSessions} sessions`, shape, (n) => book(t, tally, spread[n % spread.length]!, 1));
  return { tally, hotSession, spreadIds: spread, hot, spread: spreadRun };
}

/** The peer's counters against its 201s, and one stored booking per 201 (read through its driver). */
const peerRun = () =>
  versus.withTarget(startPeer, async (t) => {
    const run = await load(t);
    const db = t.admin.db(t.db);
    const mismatches: { sessionId: string; counterBooked: number; stored: number; slotsOf201s: number }[] = [];
    for (const sessionId of [run.hotSession, ...run.spreadIds]) {
      const counter = await db.collection<{ _id: string; booked: number }>('counters').findOne({ _id: `${sessionId}:${date}` });
      const stored = await db.collection('bookings').countDocuments({ sessionId, date });
      const mine = run.tally.confirmed.get(sessionId) ?? { ids: new Set(), slots: 0 };
      const maybe = run.tally.unknown.get(sessionId)?.slots ?? 0;
      const booked = counter?.booked ?? 0;
      if (booked < mine.slots || booked > mine.slots + maybe || stored < mine.ids.size || stored > mine.ids.size + maybe)
        mismatches.push({ sessionId, counterBooked: booked, stored, slotsOf201s: mine.slots });
    }
    const checks = {
      sessionsChecked: 1 + run.spreadIds.length,
      mismatches,
      unknownOutcomes: run.tally.unknownTotal(),
      pass: mismatches.length === 0,
    };
    console.log(`peer ledgers: ${JSON.stringify(checks)}`);
    return { hot: run.hot, spread: run.spread, checks };
  });

async function availableSlots(t: Target, sessionId: string): Promise<number> {
  const r = await call(t, 'GET', `/v1/capacity/check?sessionId=${sessionId}&date=${date}&slots=1`);
  if (r.status !== 200) throw new Error(`capacity check failed: ${r.status} ${r.text}`);
  return r.body.availableSlots as number;
}

/** Pages `GET /v1/bookings?status=confirmed` of one session/date to the end (or the deadline). */
async function listConfirmed(t: Target, sessionId: string, deadline: number) {
  const ids = new Set<string>();
  let slots = 0;
  let pages = 0;
  let duplicates = 0;
  let cursor: string | null = null;
  let complete = false;
  const started = performance.now();
  while (Date.now() < deadline) {
    const q = `sessionId=${sessionId}&date=${date}&status=confirmed&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await call(t, 'GET', `/v1/bookings?${q}`);
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
async function checkListed(t: Target, tally: Tally, sessionId: string) {
  const expected = tally.confirmed.get(sessionId) ?? { ids: new Set<string>(), slots: 0 };
  const deadline = Date.now() + 30_000;
  const started = performance.now();
  let attempts = 0;
  for (;;) {
    attempts++;
    const listed = await listConfirmed(t, sessionId, deadline);
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
        pass: done && listed.duplicates === 0 && extra.length <= (tally.unknown.get(sessionId)?.requests ?? 0),
      };
    }
    await sleep(1000);
  }
}

/** Zero oversell: `burstRequests` at once (1–3 adults) on a fresh session of capacity `burstCapacity`. */
async function burst(t: Target, tally: Tally) {
  console.log(`oversell: ${burstRequests} concurrent bookings (1–3 adults) on a session of capacity ${burstCapacity} ...`);
  const sessionId = await createSession(t, 'Burst session', burstCapacity);
  const outcomes: Record<string, { count: number; minMs: number; maxMs: number }> = {};
  let slots = 0;
  let bookings = 0;
  let wrongReplies = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: burstRequests }, async (_, i) => {
      const adults = 1 + (i % 3);
      const at = performance.now();
      const { outcome, booking } = await book(t, tally, sessionId, adults);
      const ms = round(performance.now() - at, 0);
      const o = outcomes[outcome] ?? { count: 0, minMs: ms, maxMs: ms };
      outcomes[outcome] = { count: o.count + 1, minMs: Math.min(o.minMs, ms), maxMs: Math.max(o.maxMs, ms) };
      if (booking) {
        bookings++;
        slots += booking.slots;
        if (booking.slots !== adults || booking.status !== 'confirmed') wrongReplies++;
      }
    }),
  );
  const ms = round(performance.now() - started, 0);
  const availableRightAfter = await availableSlots(t, sessionId);
  // Requests the gateway gave up on may still run in the capacity service.
  const settled = await waitQuiet(['capacity'], 30_000);
  const available = await availableSlots(t, sessionId);
  const listing = await checkListed(t, tally, sessionId);
  const list = await listConfirmed(t, sessionId, Date.now() + 10_000);
  const unknown = tally.unknown.get(sessionId) ?? { requests: 0, slots: 0 };
  const bookedByLedger = burstCapacity - available;
  return {
    requests: burstRequests,
    maxCapacity: burstCapacity,
    ms,
    outcomes,
    confirmedBookings: bookings,
    slotsOf201s: slots,
    repliesWithWrongSlotsOrStatus: wrongReplies,
    requestsWithUnknownOutcome: unknown,
    availableSlotsRightAfterTheReplies: availableRightAfter,
    waitedForTheServiceToSettle: settled,
    availableSlotsReported: available,
    bookedByLedger,
    listedConfirmedBookings: list.ids.size,
    listedConfirmedSlots: list.slots,
    listing,
    /** As specified: slots of the 201s ≤ capacity and availableSlots = capacity − those slots. */
    strictCheck: slots <= burstCapacity && available === burstCapacity - slots && wrongReplies === 0,
    /** The invariant: never more booked than exists, ledger = list, every 201 listed, extras only from unknown outcomes. */
    noOversell:
      bookedByLedger <= burstCapacity &&
      list.slots === bookedByLedger &&
      listing.missing === 0 &&
      listing.duplicatesAcrossPages === 0 &&
      listing.listedWithout201 <= unknown.requests &&
      bookedByLedger - slots <= unknown.slots &&
      wrongReplies === 0 &&
      Object.keys(outcomes).every((o) => o === '201' || o === '409 capacity_exhausted' || o.startsWith('503 ')),
  };
}

/** Nothing lost: every 201 of the hot key is listed; every ledger booked exactly its 201s' slots. */
async function nothingLost(t: Target, tally: Tally, hotSession: string, spread: string[]) {
  console.log('nothing lost: paging GET /v1/bookings of the hot session ...');
  const hotListed = await checkListed(t, tally, hotSession);
  console.log(`nothing lost (hot list): ${JSON.stringify({ ...hotListed, missingSample: undefined })}`);
  const mismatches: { sessionId: string; bookedByLedger: number; slotsOf201s: number; slotsOfUnknownOutcomes: number }[] = [];
  const sessions = [hotSession, ...spread];
  let hotBookedByLedger = 0;
  for (let i = 0; i < sessions.length; i += 10) {
    await Promise.all(
      sessions.slice(i, i + 10).map(async (sessionId) => {
        const booked = hotCapacity - (await availableSlots(t, sessionId));
        if (sessionId === hotSession) hotBookedByLedger = booked;
        const slots = tally.confirmed.get(sessionId)?.slots ?? 0;
        const maybe = tally.unknown.get(sessionId)?.slots ?? 0;
        if (booked < slots || booked > slots + maybe)
          mismatches.push({ sessionId, bookedByLedger: booked, slotsOf201s: slots, slotsOfUnknownOutcomes: maybe });
      }),
    );
  }
  const ledgers = {
    sessionsChecked: sessions.length,
    hotBookedByLedger,
    hotSlotsOf201s: tally.confirmed.get(hotSession)?.slots ?? 0,
    spreadSlotsOf201s: spread.reduce((sum, s) => sum + (tally.confirmed.get(s)?.slots ?? 0), 0),
    mismatches,
    requestsWithUnknownOutcome: tally.unknownTotal(),
    pass: mismatches.length === 0,
  };
  console.log(`nothing lost (ledgers): ${JSON.stringify(ledgers)}`);
  return { hotListed, ledgers };
}

const allotRun = () =>
  versus.withTarget(startPlatform, async (t) => {
    const run = await load(t);
    const oversell = await burst(t, run.tally);
    console.log(`oversell: ${JSON.stringify({ ...oversell, listing: undefined })}`);
    const lost = await nothingLost(t, run.tally, run.hotSession, run.spreadIds);
    return { hot: run.hot, spread: run.spread, oversell, ...lost, unknownTotal: run.tally.unknownTotal() };
  });

/**
 * Where a booking's time goes: Allot started again with every service exporting its spans to
 * this process (lib/traces.ts), the same two loads for `tracedSeconds` each after the same
 * warm-up. Separate from the figures above, which run untraced: exporting spans costs CPU.
 */
const tracedRun = async () => {
  const receiver = await startTraceReceiver();
  try {
    return await versus.withTarget(
      () => startPlatform(receiver.env),
      async (t) => {
        const tally = new Tally();
        const { hotSession, spread } = await createSessions(t);
        const scenario = async (name: string, op: (n: number) => Promise<Outcome>) => {
          console.log(`traced ${name}: warm-up ${shape.warmupSeconds} s, then ${shape.clients} clients for ${tracedSeconds} s ...`);
          if (shape.warmupSeconds > 0) await drive(shape.clients, shape.warmupSeconds, op);
          await waitQuiet(t.busyNames, 10_000);
          const from = nowMs();
          const result = await drive(shape.clients, tracedSeconds, op);
          const to = nowMs();
          await waitQuiet(t.busyNames, 30_000);
          await receiver.settle();
          const traced = analyse(receiver.spans(), name, from, to, bookingSpans, result.ok);
          console.log(tracedConsole(traced, 'booking'));
          return { ...traced, p50Ms: result.p50Ms, p99Ms: result.p99Ms, outcomes: result.outcomes };
        };
        const hot = await scenario('hot', () => book(t, tally, hotSession, 1));
        const spreadRun = await scenario(`spread over ${spreadSessions} sessions`, (n) => book(t, tally, spread[n % spread.length]!, 1));
        return { hot, spread: spreadRun, receiver: { ...receiver.stats(), spans: receiver.spans().length, env: receiver.env } };
      },
    );
  } finally {
    await receiver.close();
  }
};

const r = await versus.peerAllotPeer(peerRun, allotRun);
const traced = await tracedRun();
const { peerBefore, allot, peerAfter } = r;
const ratios = { hot: versus.versusPeer(r, 'hot'), spread: versus.versusPeer(r, 'spread') };
const { oversell, hotListed, ledgers } = allot;
const extraBooked = oversell.bookedByLedger - oversell.slotsOf201s;
const lostMet = hotListed.pass && ledgers.pass;
const peerChecksMet = peerBefore.checks.pass && peerAfter.checks.pass;
const verdicts = {
  hot: versus.verdictOf(r, 'hot', 'hot key', 'confirmed bookings', targets.hot),
  spread: versus.verdictOf(r, 'spread', `spread (${spreadSessions} sessions)`, 'confirmed bookings', targets.spread),
  zeroOversell: {
    met: oversell.noOversell,
    text: `${oversell.noOversell ? 'PASS' : 'FAIL'}: ${oversell.bookedByLedger} of ${burstCapacity} slots booked by the ledger after ${burstRequests} concurrent requests; the list shows ${oversell.listedConfirmedBookings} confirmed bookings for ${oversell.listedConfirmedSlots} slots; every 201 is listed`,
  },
  strictAccounting: {
    met: oversell.strictCheck,
    text: `${oversell.strictCheck ? 'PASS' : 'FAIL'}: the 201s took ${oversell.slotsOf201s} slots; capacity check reports ${oversell.availableSlotsReported} available (expected ${burstCapacity - oversell.slotsOf201s})${
      extraBooked > 0
        ? ` — ${oversell.listing.listedWithout201} bookings (${extraBooked} slots) were made for requests that got no 201 (${oversell.requestsWithUnknownOutcome.requests} requests with an unknown outcome: ${Object.entries(
            oversell.outcomes,
          )
            .filter(([o]) => o !== '201' && o !== '409 capacity_exhausted')
            .map(([o, v]) => `${v.count} × ${o}`)
            .join(', ')})`
        : ''
    }`,
  },
  nothingLost: {
    met: lostMet,
    text: `${lostMet ? 'PASS' : 'FAIL'}: hot session ${hotListed.received201} 201s, ${hotListed.listed} listed (${hotListed.missing} missing, ${hotListed.listedWithout201} without a 201, ${hotListed.duplicatesAcrossPages} duplicates, ${hotListed.pages} pages, ${hotListed.complete ? 'paged to the end' : 'INCOMPLETE paging'}); ledgers of ${ledgers.sessionsChecked} sessions: ${ledgers.mismatches.length} disagree with the 201s`,
  },
  peerLedgers: {
    met: peerChecksMet,
    text: `${peerChecksMet ? 'PASS' : 'FAIL'}: in both peer runs every counter booked the slots of its 201s and stores one booking per 201 (${peerBefore.checks.mismatches.length} + ${peerAfter.checks.mismatches.length} sessions disagree)`,
  },
};

const report = {
  ...versus.reportBase(shape),
  date,
  measured: {
    hotKey: { peerBefore: peerBefore.hot, allot: allot.hot, peerAfter: peerAfter.hot },
    spread100Sessions: { peerBefore: peerBefore.spread, allot: allot.spread, peerAfter: peerAfter.spread },
  },
  ratios,
  targets,
  zeroOversell: oversell,
  nothingLost: { hotSessionListing: hotListed, ledgers },
  peerLedgers: { before: peerBefore.checks, after: peerAfter.checks },
  serviceLog: versus.logsByRun(r),
  verdicts,
  traced: { seconds: tracedSeconds, ...traced },
};

const md = [
  ...versus.reportHead(
    report,
    r,
    {
      title: 'Capacity: booking throughput against the peer, zero oversell, nothing lost',
      workload: `\`POST /v1/bookings\` for ${date} (UTC), 1 adult each; sessions of capacity ${hotCapacity.toLocaleString('en')}, so none runs out. Only 201s count as bookings.`,
      peer: 'capacity cached in memory, one guarded `findOneAndUpdate` of a per-session/date counter plus an `insertOne` per booking.',
      unit: 'confirmed bookings',
      hot: '(a) hot key: one session/date',
      spread: `(b) spread: round-robin over ${spreadSessions} sessions`,
    },
    targets,
  ),
  ...versus.reportProcesses(r, 'confirmed booking'),
  '## Zero oversell (Allot)',
  '',
  `${burstRequests} bookings (adults 1, 2, 3, 1, 2, 3, ...) sent at once on a fresh session of capacity ${burstCapacity}; all answered after ${oversell.ms} ms.`,
  '',
  '| outcome | count | fastest ms | slowest ms |',
  '|---|---:|---:|---:|',
  ...Object.entries(oversell.outcomes).map(([o, x]) => `| ${o} | ${x.count} | ${x.minMs} | ${x.maxMs} |`),
  '',
  `The 201s: ${oversell.confirmedBookings} bookings for **${oversell.slotsOf201s} slots**. \`GET /v1/capacity/check\` right after the last answer: availableSlots ${oversell.availableSlotsRightAfterTheReplies};`,
  `after the capacity service went idle (${oversell.waitedForTheServiceToSettle.quiet ? `${oversell.waitedForTheServiceToSettle.seconds} s later` : `not idle after ${oversell.waitedForTheServiceToSettle.seconds} s`}): **${oversell.availableSlotsReported}**, i.e. ${oversell.bookedByLedger} booked.`,
  `\`GET /v1/bookings?status=confirmed\`: ${oversell.listedConfirmedBookings} bookings for ${oversell.listedConfirmedSlots} slots (${oversell.listing.missing} of the 201s missing, ${oversell.listing.listedWithout201} without a 201).`,
  '',
  '## Nothing lost',
  '',
  `Allot, hot session: paged \`GET /v1/bookings?sessionId&date&status=confirmed&limit=200\` to the end (${hotListed.pages} pages, last pass ${hotListed.lastPagingMs} ms, ${hotListed.attempts} pass(es);`,
  `every 201 listed ${hotListed.secondsUntilAllListed ?? '—'} s after the check began) and compared ids with the ${hotListed.received201} 201s (warm-up included):`,
  `${hotListed.listed} listed, ${hotListed.missing} missing, ${hotListed.listedWithout201} listed without a 201, ${hotListed.duplicatesAcrossPages} duplicates across pages.`,
  `Allot ledgers: for the hot session and all ${spreadSessions} spread sessions, booked slots by \`GET /v1/capacity/check\` (capacity − availableSlots)`,
  `against the slots of the 201s received: ${ledgers.mismatches.length} disagree (hot: ledger ${ledgers.hotBookedByLedger}, 201s ${ledgers.hotSlotsOf201s}; spread 201s ${ledgers.spreadSlotsOf201s} slots).`,
  `Requests with an unknown outcome (5xx, timeout or connection error) in Allot’s run: ${allot.unknownTotal}.`,
  'Peer: each session/date counter and the stored bookings, read with the driver, against the 201s of that run.',
  '',
  '## Where a booking’s time goes (Allot, traced)',
  '',
  `A separate phase after the figures above: Allot started again with every service exporting its spans (OTLP/HTTP JSON, batches every ${traced.receiver.env.OTEL_BSP_SCHEDULE_DELAY} ms) to a receiver in the`,
  `benchmark process, then each load for ${tracedSeconds} s after the same warm-up. Exporting spans costs the services CPU, so the rates here are lower than the untraced figures;`,
  'the stages are what matters. Stages come from the gateway’s server span, the RPC client and server spans, the ledger engine’s events on the RPC server span,',
  'and the publish and consumer spans of the events a booking caused: those are in the trace of the `ledger tick` that wrote it, matched to the booking by order',
  'within the tick (lib/traces.ts). Times of different processes come from one machine’s clock; span starts have 1 ms resolution.',
  `Traced p50 / p99 of the whole request as the clients saw it: hot ${traced.hot.p50Ms} / ${traced.hot.p99Ms} ms, spread ${traced.spread.p50Ms} / ${traced.spread.p99Ms} ms.`,
  `Spans received: ${traced.receiver.spans} in ${traced.receiver.requests} exports.`,
  '',
  ...tracedMarkdown(traced.hot, 'booking'),
  ...tracedMarkdown(traced.spread, 'booking'),
  '## Verdicts',
  '',
  `- **Hot key — ${verdicts.hot.text}**`,
  `- **Spread — ${verdicts.spread.text}**`,
  `- **Zero oversell — ${verdicts.zeroOversell.text}**`,
  `- **201 accounting after a burst — ${verdicts.strictAccounting.text}**`,
  `- **Nothing lost — ${verdicts.nothingLost.text}**`,
  `- **Peer ledgers — ${verdicts.peerLedgers.text}**`,
  '',
  versus.reportLogs(r),
  '',
].join('\n');
writeResults('capacity-bookings', report, md);
console.log(md);
