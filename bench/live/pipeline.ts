/**
 * How long a booking takes to reach the screens that show it while the platform is busy: the
 * whole platform as `make dev` runs it (lib/targets.ts `startPlatform`: every service consuming
 * its events), PIPELINE_CLIENTS closed-loop clients booking one hot date of one tenant through
 * the gateway, and meanwhile a probe booking every PIPELINE_PROBE_MS for one of PIPELINE_USERS
 * users (round robin, each with its own user token) of a second tenant, on a session of its own.
 *
 * For every probe, the delay from its 201 (as the prober saw it) to the arrival of:
 * - `booking.created` (that booking) on the tenant API key's `bookings` stream;
 * - `booking.updated` and `notification.created` (that booking) on the user's own `user` stream;
 * - `availability.updated` showing the booking's place on `availability.session.<id>`.
 * All clients run in this process, so both times come from one clock. An expected message that
 * has not arrived PIPELINE_GRACE_MS after the last probe is missed; a message whose SSE id, or
 * whose booking and event, a stream already delivered is duplicated.
 *
 * The probes are a tenant of their own so that every span naming that tenant's subjects is a
 * probe's (the load's events cross the same streams, consumers, projector and fan-out). A second,
 * traced run (PIPELINE_TRACED_SECONDS; exporting spans costs CPU, so the figures above come from an
 * untraced run) splits each delay into hops from the spans the services export (lib/traces.ts):
 * the write (the capacity ledger's `ledger written` mark on the probe's own trace: the gateway
 * continues the prober's `traceparent`) → the event's publish span (outbox relay) → a consumer's
 * `process` span (delivery; for notification and availability events first the notifications or
 * availability service's consumer, then its own relay) → the gateway projector's `process` span
 * (projector: the client message stored on the `CLIENT` stream) → arrival at the client (fan-out).
 *
 * Targets (issue 19): p99 < 100 ms for each of the four events, 0 missed, 0 duplicated.
 *
 * Env: PIPELINE_SECONDS (20), PIPELINE_TRACED_SECONDS (10; 0 skips the traced run),
 * PIPELINE_CLIENTS (30), PIPELINE_USERS (20), PIPELINE_PROBE_MS (200), PIPELINE_GRACE_MS (5000),
 * BENCH_WARMUP_SECONDS (1), BENCH_LOG_LEVEL, BENCH_NODE_ARGS (lib/children.ts).
 * Writes bench/results/live-pipeline.{json,md}.
 */
import http from 'node:http';
import { createTenant, writeResults } from '../gateway/common';
import { childLogLine, sleep } from '../lib/children';
import { call, drive, errorOutcome, outcomeOf, round } from '../lib/drive';
import { machineInfo } from '../lib/measure';
import { startPlatform } from '../lib/targets';
import { Kind, nowMs, type SpanRecord, type Spread, spreadOf, startTraceReceiver } from '../lib/traces';

const seconds = Number(process.env.PIPELINE_SECONDS ?? 20);
const tracedSeconds = Number(process.env.PIPELINE_TRACED_SECONDS ?? 10);
const clients = Number(process.env.PIPELINE_CLIENTS ?? 30);
const users = Number(process.env.PIPELINE_USERS ?? 20);
const probeMs = Number(process.env.PIPELINE_PROBE_MS ?? 200);
const graceMs = Number(process.env.PIPELINE_GRACE_MS ?? 5000);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const targets = { p99Ms: 100, missed: 0, duplicated: 0 };
const date = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
const EVENTS = ['booking.created', 'booking.updated', 'notification.created', 'availability.updated'] as const;
type LiveEvent = (typeof EVENTS)[number];

interface Frame {
  id: string;
  event: string;
  data: any;
  /** ms since the epoch (`nowMs`, comparable with span times). */
  at: number;
}

/** An SSE stream read by this process: every frame with its arrival time. */
interface Stream {
  frames: Frame[];
  close(): void;
}

function openStream(base: string, token: string, channels: string): Promise<Stream> {
  const url = new URL(`/v1/stream?channels=${channels}`, base);
  return new Promise((resolve, reject) => {
    const frames: Frame[] = [];
    const req = http.get(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        agent: false,
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`stream ${channels} answered ${res.statusCode}`));
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          const at = nowMs();
          buffer += chunk;
          const parts = buffer.split('\n\n');
          buffer = parts.pop() ?? '';
          for (const part of parts) {
            const fields = new Map<string, string>();
            for (const line of part.split('\n')) {
              const colon = line.indexOf(':');
              if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
            }
            const data = fields.get('data');
            if (data === undefined) continue; // a comment (heartbeat)
            frames.push({ id: fields.get('id') ?? '', event: fields.get('event') ?? 'message', data: JSON.parse(data), at });
          }
        });
        res.on('error', () => {});
        resolve({ frames, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
  });
}

interface Probe {
  n: number;
  user: number;
  sent: number;
  /** When the 201 arrived (ms since the epoch). */
  at: number;
  bookingId: string;
  traceId: string | undefined;
  /** Probe 201s on the session up to this one: the `bookedSlots` an update showing it has at least. */
  place: number;
  arrivals: Partial<Record<LiveEvent, number>>;
}

interface RunResult {
  probes: Probe[];
  failedProbes: Record<string, number>;
  load: Awaited<ReturnType<typeof drive>>;
  missed: Record<LiveEvent, number>;
  duplicated: Record<LiveEvent, number>;
  delays: Record<LiveEvent, Spread>;
  from: number;
  to: number;
  logs: string;
}

/** One run: platform up, streams open, load and probes for `runSeconds`, then what arrived. */
async function run(runSeconds: number, env: Record<string, string>, analyse?: (r: RunResult) => Promise<unknown>) {
  const t = await startPlatform(env);
  const streams: Stream[] = [];
  try {
    const load = { base: t.base, key: t.key };
    const hot = await call(load, 'POST', '/v1/sessions', { name: 'Hot session', maxCapacity: 1_000_000 });
    if (hot.status !== 201) throw new Error(`hot session: ${hot.status} ${hot.text}`);
    const probeTenant = await createTenant(t.base, t.rootKey, 'Probe tenant');
    const probeKey = { base: t.base, key: probeTenant.key };
    const session = await call(probeKey, 'POST', '/v1/sessions', { name: 'Probe session', maxCapacity: 1_000_000 });
    if (session.status !== 201) throw new Error(`probe session: ${session.status} ${session.text}`);
    const sessionId = session.body.id as string;
    const tokens: string[] = [];
    for (let u = 0; u < users; u++) {
      const r = await call(probeKey, 'POST', '/v1/auth/user-tokens', { userId: `probe-user-${u}` });
      if (r.status !== 201) throw new Error(`user token: ${r.status} ${r.text}`);
      tokens.push(r.body.token as string);
    }
    const bookings = await openStream(t.base, probeTenant.key, 'bookings');
    const availability = await openStream(t.base, probeTenant.key, `availability.session.${sessionId}`);
    const userStreams = await Promise.all(tokens.map((token) => openStream(t.base, token, 'user')));
    streams.push(bookings, availability, ...userStreams);

    const book = async () => {
      try {
        const r = await call(load, 'POST', '/v1/bookings', { sessionId: hot.body.id, date, adults: 1 });
        return { outcome: outcomeOf(r), ok: r.status === 201 };
      } catch (error) {
        return { outcome: errorOutcome(error), ok: false };
      }
    };
    if (warmupSeconds > 0) await drive(clients, warmupSeconds, book);

    console.log(`${clients} clients on the hot date for ${runSeconds} s, a probe every ${probeMs} ms for one of ${users} users ...`);
    const probes: Probe[] = [];
    const failedProbes: Record<string, number> = {};
    const from = nowMs();
    const loadRun = drive(clients, runSeconds, book);
    const inFlight: Promise<void>[] = [];
    for (let n = 0; nowMs() - from < runSeconds * 1000; n++) {
      const next = from + n * probeMs;
      if (next > nowMs()) await sleep(next - nowMs());
      const user = n % users;
      inFlight.push(
        (async () => {
          const sent = nowMs();
          try {
            const res = await fetch(`${t.base}/v1/bookings`, {
              method: 'POST',
              headers: { authorization: `Bearer ${tokens[user]}`, 'content-type': 'application/json' },
              body: JSON.stringify({ sessionId, date, adults: 1 }),
              signal: AbortSignal.timeout(10_000),
            });
            const at = nowMs();
            const body = (await res.json()) as { id?: string; code?: string };
            if (res.status !== 201 || !body.id) {
              failedProbes[`${res.status} ${body.code ?? ''}`] = (failedProbes[`${res.status} ${body.code ?? ''}`] ?? 0) + 1;
              return;
            }
            const traceId = res.headers.get('traceparent')?.split('-')[1];
            probes.push({ n, user, sent, at, bookingId: body.id, traceId, place: 0, arrivals: {} });
          } catch (error) {
            failedProbes[errorOutcome(error)] = (failedProbes[errorOutcome(error)] ?? 0) + 1;
          }
        })(),
      );
    }
    await Promise.all(inFlight);
    const loadResult = await loadRun;
    const to = nowMs();
    await sleep(graceMs);

    // Each probe's place on the session, by when its 201 came back.
    probes.sort((a, b) => a.at - b.at);
    probes.forEach((p, i) => {
      p.place = i + 1;
    });
    const missed = Object.fromEntries(EVENTS.map((e) => [e, 0])) as Record<LiveEvent, number>;
    const duplicated = Object.fromEntries(EVENTS.map((e) => [e, 0])) as Record<LiveEvent, number>;
    const countDuplicates = (stream: Stream, event: LiveEvent, keyOf: (f: Frame) => string) => {
      const ids = new Set<string>();
      const keys = new Set<string>();
      for (const f of stream.frames) {
        if (f.event !== event) continue;
        const key = keyOf(f);
        if (ids.has(f.id) || keys.has(key)) duplicated[event]++;
        ids.add(f.id);
        keys.add(key);
      }
    };
    countDuplicates(bookings, 'booking.created', (f) => f.data.id);
    countDuplicates(availability, 'availability.updated', (f) => String(f.data.version));
    for (const s of userStreams) {
      countDuplicates(s, 'booking.updated', (f) => `${f.data.id}:${f.data.status}`);
      countDuplicates(s, 'notification.created', (f) => f.data.id);
    }
    const firstAt = (stream: Stream, match: (f: Frame) => boolean) => stream.frames.find(match)?.at;
    for (const p of probes) {
      const own = userStreams[p.user] as Stream;
      p.arrivals = {
        'booking.created': firstAt(bookings, (f) => f.event === 'booking.created' && f.data.id === p.bookingId),
        'booking.updated': firstAt(own, (f) => f.event === 'booking.updated' && f.data.id === p.bookingId),
        'notification.created': firstAt(own, (f) => f.event === 'notification.created' && f.data.data?.bookingId === p.bookingId),
        'availability.updated': firstAt(availability, (f) => f.event === 'availability.updated' && f.data.bookedSlots >= p.place),
      };
      for (const e of EVENTS) if (p.arrivals[e] === undefined) missed[e]++;
    }
    const delays = Object.fromEntries(
      EVENTS.map((e) => [e, spreadOf(probes.flatMap((p) => (p.arrivals[e] === undefined ? [] : [Math.max(0, p.arrivals[e]! - p.at)])))]),
    ) as Record<LiveEvent, Spread>;
    const result: RunResult = { probes, failedProbes, load: loadResult, missed, duplicated, delays, from, to, logs: '' };
    const extra = analyse ? await analyse(result) : undefined;
    for (const s of streams.splice(0)) s.close();
    result.logs = childLogLine(await t.stop());
    return { ...result, probeTenant: probeTenant.tenantId, extra };
  } catch (error) {
    for (const s of streams) s.close();
    await t.stop();
    throw error;
  }
}

/** Hops of one probe's message: labelled intervals from the write to its arrival. */
type Hops = { hop: string; ms: number }[];

/**
 * The hops of each probe's four messages from the spans of the traced run. The probe's event is
 * the probe tenant's first capacity publish after its write (the `ledger written` mark on its
 * trace) not taken by an earlier probe; the chain below it follows parent links (publish → consumer `process` → the consumer's own
 * publishes → ...) to the gateway projector's span that made the message which arrived.
 */
function hopsOf(spans: SpanRecord[], probes: Probe[], tenantId: string) {
  const children = new Map<string, SpanRecord[]>();
  const byTrace = new Map<string, SpanRecord[]>();
  const push = (map: Map<string, SpanRecord[]>, key: string, s: SpanRecord) => {
    const list = map.get(key);
    if (list) list.push(s);
    else map.set(key, [s]);
  };
  for (const s of spans) {
    if (s.parentSpanId) push(children, s.parentSpanId, s);
    push(byTrace, s.traceId, s);
  }
  const capacityPublishes = spans.filter(
    (s) =>
      s.service === 'capacity' &&
      s.kind === Kind.producer &&
      /^booking\.(held|confirmed) publish$/.test(s.name.slice(`evt.capacity.${tenantId}.`.length)) &&
      s.name.startsWith(`evt.capacity.${tenantId}.`),
  );
  /** Producer spans anywhere below `span` (a consumer's publishes may sit under its database spans). */
  const publishesUnder = (span: SpanRecord): SpanRecord[] =>
    (children.get(span.spanId) ?? []).flatMap((c) => (c.kind === Kind.producer ? [c] : c.kind === Kind.consumer ? [] : publishesUnder(c)));
  const consumersOf = (publish: SpanRecord) => (children.get(publish.spanId) ?? []).filter((c) => c.kind === Kind.consumer);
  const projectorOf = (publish: SpanRecord) => consumersOf(publish).find((c) => c.service === 'gateway');

  const perEvent = Object.fromEntries(EVENTS.map((e) => [e, new Map<string, number[]>()])) as Record<LiveEvent, Map<string, number[]>>;
  const linked = Object.fromEntries(EVENTS.map((e) => [e, 0])) as Record<LiveEvent, number>;
  const add = (event: LiveEvent, hops: Hops) => {
    linked[event]++;
    for (const { hop, ms } of hops) perEvent[event].set(hop, [...(perEvent[event].get(hop) ?? []), ms]);
  };
  // The probe session's ledger writes one probe after another, and its events are published in
  // that order: each probe takes the first publish not taken yet that started after its write.
  const writes = probes
    .map((p) => {
      const trace = p.traceId ? (byTrace.get(p.traceId) ?? []) : [];
      const server = trace.find((s) => s.kind === Kind.server && s.name === 'rpc.capacity.booking.create process');
      return { p, at: server?.events.find((e) => e.name === 'ledger written')?.time };
    })
    .filter((w): w is { p: Probe; at: number } => w.at !== undefined)
    .sort((a, b) => a.at - b.at);
  const unused = [...capacityPublishes].sort((a, b) => a.start - b.start);
  for (const { p, at: written } of writes) {
    const index = unused.findIndex((s) => s.start >= written - 1);
    if (index < 0) continue;
    const [publish] = unused.splice(0, index + 1).slice(-1) as [SpanRecord];
    const relay = { hop: 'outbox relay (capacity: written → published)', ms: publish.start - written };
    const tail = (projector: SpanRecord, arrival: number): Hops => [
      { hop: 'projector (gateway: CLIENT message stored)', ms: projector.end - projector.start },
      { hop: 'fan-out (stored → arrival at the client)', ms: arrival - projector.end },
    ];
    const direct = projectorOf(publish);
    for (const event of ['booking.created', 'booking.updated'] as const) {
      const arrival = p.arrivals[event];
      if (!direct || arrival === undefined) continue;
      add(event, [relay, { hop: 'delivery to the projector', ms: direct.start - publish.start }, ...tail(direct, arrival)]);
    }
    for (const [event, service] of [
      ['notification.created', 'notifications'],
      ['availability.updated', 'availability'],
    ] as const) {
      const arrival = p.arrivals[event];
      if (arrival === undefined) continue;
      const consumer = consumersOf(publish).find((c) => c.service === service);
      const own = consumer && publishesUnder(consumer).find((s) => s.name.includes(`.${event} publish`));
      const projector = own && projectorOf(own);
      if (!consumer || !own || !projector) continue;
      add(event, [
        relay,
        { hop: `delivery to ${service}`, ms: consumer.start - publish.start },
        { hop: `${service} handles and relays`, ms: own.start - consumer.start },
        { hop: 'delivery to the projector', ms: projector.start - own.start },
        ...tail(projector, arrival),
      ]);
    }
  }
  return Object.fromEntries(
    EVENTS.map((e) => [e, { linked: linked[e], hops: [...perEvent[e]].map(([hop, values]) => ({ hop, ...spreadOf(values) })) }]),
  );
}

const verdict = (r: RunResult) =>
  Object.fromEntries(
    EVENTS.map((e) => {
      const met = r.delays[e].n > 0 && r.delays[e].p99Ms < targets.p99Ms && r.missed[e] === 0 && r.duplicated[e] === 0;
      return [
        e,
        {
          met,
          p99ToTarget: round(r.delays[e].p99Ms / targets.p99Ms),
          text: `${met ? 'PASS' : 'FAIL'}: ${e} p99 ${r.delays[e].p99Ms} ms (target < ${targets.p99Ms}; ${round(r.delays[e].p99Ms / targets.p99Ms)} × the bound), ${r.missed[e]} missed, ${r.duplicated[e]} duplicated of ${r.probes.length} probes`,
        },
      ];
    }),
  );

const table = (r: RunResult) => [
  '| event | stream | n | p50 ms | p99 ms | max ms | missed | duplicated |',
  '|---|---|---:|---:|---:|---:|---:|---:|',
  ...EVENTS.map((e) => {
    const stream =
      e === 'booking.created' ? 'API key `bookings`' : e === 'availability.updated' ? '`availability.session.<id>`' : 'user `user`';
    const d = r.delays[e];
    return `| \`${e}\` | ${stream} | ${d.n} | ${d.p50Ms} | ${d.p99Ms} | ${d.maxMs} | ${r.missed[e]} | ${r.duplicated[e]} |`;
  }),
];

const consoleLines = (name: string, r: RunResult) =>
  [
    `${name}: ${r.probes.length} probes (${JSON.stringify(r.failedProbes)} failed), load ${r.load.okPerSecond} bookings/s (p99 ${r.load.okP99Ms} ms, ${JSON.stringify(r.load.outcomes)})`,
    ...EVENTS.map(
      (e) =>
        `  ${e.padEnd(22)} p50 ${r.delays[e].p50Ms} p99 ${r.delays[e].p99Ms} max ${r.delays[e].maxMs} ms; missed ${r.missed[e]}, duplicated ${r.duplicated[e]}`,
    ),
  ].join('\n');

const slim = ({ probes, ...r }: RunResult & Record<string, unknown>) => ({ ...r, probeCount: probes.length });

console.log('untraced run ...');
const main = await run(seconds, {});
console.log(consoleLines('untraced', main));
const verdicts = verdict(main);

let traced: (RunResult & { hops: ReturnType<typeof hopsOf> }) | undefined;
if (tracedSeconds > 0) {
  console.log('traced run (spans exported to this process) ...');
  const receiver = await startTraceReceiver();
  try {
    // Every span is exported before the platform stops; they are matched to the probes afterwards.
    const r = await run(tracedSeconds, receiver.env, () => receiver.settle());
    const hops = hopsOf(receiver.spans(), r.probes, r.probeTenant);
    traced = { ...r, hops };
    console.log(consoleLines('traced', r));
    for (const e of EVENTS) {
      console.log(`  ${e} (${hops[e]?.linked} linked): ${hops[e]?.hops.map((h) => `${h.hop} p50 ${h.p50Ms} p99 ${h.p99Ms}`).join('; ')}`);
    }
  } finally {
    await receiver.close();
  }
}

const report = {
  benchmark: 'live-pipeline',
  machine: machineInfo(),
  config: { seconds, tracedSeconds, clients, users, probeMs, graceMs, warmupSeconds },
  targets,
  verdicts,
  untraced: slim(main as RunResult & Record<string, unknown>),
  traced: traced && slim(traced as unknown as RunResult & Record<string, unknown>),
};
const md = [
  '# Live pipeline under load (bench/live/pipeline.ts)',
  '',
  `${clients} clients book one hot date through the gateway (${main.load.okPerSecond} bookings/s, p99 ${main.load.okP99Ms} ms) while a probe booking is made every ${probeMs} ms for one of ${users} users of another tenant; delay from the probe's 201 to each message's arrival on the stream (${main.probes.length} probes, ${seconds} s).`,
  '',
  ...table(main),
  '',
  ...Object.values(verdicts).map((v) => `- ${v.text}`),
  '',
  `Failed probes: ${JSON.stringify(main.failedProbes)}. Services' warnings and errors: ${main.logs}.`,
  ...(traced
    ? [
        '',
        `## Hops (traced run, ${tracedSeconds} s; spans exported, so slower than the figures above)`,
        '',
        ...table(traced),
        '',
        ...EVENTS.flatMap((e) => [
          `### \`${e}\` (${traced!.hops[e]?.linked} of ${traced!.probes.length} probes linked to their spans)`,
          '',
          '| hop | p50 ms | p99 ms | max ms |',
          '|---|---:|---:|---:|',
          ...(traced!.hops[e]?.hops ?? []).map((h) => `| ${h.hop} | ${h.p50Ms} | ${h.p99Ms} | ${h.maxMs} |`),
          '',
        ]),
      ]
    : []),
  '',
].join('\n');
writeResults('live-pipeline', report, md);
console.log(
  Object.values(verdicts)
    .map((v) => v.text)
    .join('\n'),
);
console.log('wrote bench/results/live-pipeline.{json,md}');
