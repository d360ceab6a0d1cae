/**
 * Where a request's time goes, from the spans the services export: a tiny OTLP/HTTP (JSON)
 * receiver in the benchmark process, the OTel environment that points the children at it, and
 * the analyses a report prints — per-stage latencies of one kind of request (its trace: the
 * gateway's server span, the RPC client and server spans, span events on the server span, and
 * the publish and consumer spans of the events it caused), database commands per request by
 * service × command × collection (the kit's `mongodb.<command> <collection>` spans), and the
 * size of the ledger engine's ticks.
 *
 * Exporting spans costs the services CPU, so a benchmark measures its throughput untraced and
 * runs a short traced phase of its own for these figures.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { round } from './drive';

/** OTLP span kinds (opentelemetry-proto `Span.SpanKind`). */
export const Kind = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

export interface SpanRecord {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  /** Wall-clock ms since the epoch (µs precision). */
  start: number;
  end: number;
  attributes: Record<string, string | number | boolean>;
  events: { name: string; time: number }[];
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: OtlpAttribute[];
  events?: { name: string; timeUnixNano: string }[];
}
interface OtlpRequest {
  resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

const nsToMs = (ns: string) => Number(BigInt(ns) / 1000n) / 1000;
const attributeValue = (v: OtlpValue) =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? v.boolValue ?? '';
const attributesOf = (list: OtlpAttribute[] | undefined) => Object.fromEntries((list ?? []).map((a) => [a.key, attributeValue(a.value)]));
/** Wall-clock now in ms, as precise as the spans' times. */
export const nowMs = () => performance.timeOrigin + performance.now();

export interface TraceReceiver {
  /** The environment that makes a child export its spans here (OTel's standard variables). */
  env: Record<string, string>;
  /** Every span received so far (parsed on first use after new arrivals). */
  spans(): SpanRecord[];
  /** Waits until no export has arrived for `quietMs` (the children's batch processors flushed). */
  settle(quietMs?: number, timeoutMs?: number): Promise<void>;
  /** Export requests received and rejected (malformed). */
  stats(): { requests: number; rejected: number; bytes: number };
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 for `POST /v1/traces` (OTLP/HTTP JSON). Bodies are kept as they arrive and
 * parsed when asked for, so receiving costs the benchmark process little while it drives load.
 */
export async function startTraceReceiver(): Promise<TraceReceiver> {
  const raw: Buffer[] = [];
  const parsed: SpanRecord[] = [];
  let requests = 0;
  let rejected = 0;
  let bytes = 0;
  let lastArrival = nowMs();
  const read = (req: IncomingMessage) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await read(req);
      requests++;
      bytes += body.length;
      lastArrival = nowMs();
      raw.push(req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    } catch {
      rejected++;
      res.writeHead(400).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const parsePending = () => {
    for (const body of raw.splice(0)) {
      let request: OtlpRequest;
      try {
        request = JSON.parse(body.toString('utf8')) as OtlpRequest;
      } catch {
        rejected++;
        continue;
      }
      for (const rs of request.resourceSpans ?? []) {
        const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '?');
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            parsed.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: s.kind,
              start: nsToMs(s.startTimeUnixNano),
              end: nsToMs(s.endTimeUnixNano),
              attributes: attributesOf(s.attributes),
              events: (s.events ?? []).map((e) => ({ name: e.name, time: nsToMs(e.timeUnixNano) })),
            });
          }
        }
      }
    }
    return parsed;
  };

  return {
    env: {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_TRACES_SAMPLER: 'always_on',
      // Exported often and in large batches, with room to queue: a dropped span would make a stage look missing.
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048',
      OTEL_BSP_MAX_QUEUE_SIZE: '200000',
      OTEL_BSP_EXPORT_TIMEOUT: '30000',
    },
    spans: parsePending,
    async settle(quietMs = 1500, timeoutMs = 30_000) {
      const deadline = nowMs() + timeoutMs;
      while (nowMs() < deadline && nowMs() - lastArrival < quietMs) await new Promise((r) => setTimeout(r, 100));
    },
    stats: () => ({ requests, rejected, bytes }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Spread {
  n: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function spreadOf(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { n: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: round(sorted[sorted.length - 1] ?? 0) };
}

/** The spans of a window: started at or after `from`, before `to` (ms since the epoch). */
export const within = (spans: SpanRecord[], from: number, to: number) => spans.filter((s) => s.start >= from && s.start < to);

export interface BreakdownSpec {
  /** The gateway's server span of the request, e.g. `POST /v1/bookings`. */
  root: string;
  /** Only requests answered with this status count (`http.response.status_code`). */
  status: number;
  /** The RPC subject the gateway calls, e.g. `rpc.capacity.booking.create`. */
  rpc: string;
  /** Span events on the RPC server span, in the order they happen, with the label to print. */
  serverEvents: { event: string; label: string }[];
  /** The span (of the server's process) that writes and announces changes in batches, e.g. `ledger tick`. */
  tickSpan: string;
  /** The server event that happens inside the request's tick, e.g. `ledger decided`. */
  tickEvent: string;
}

export interface Stage {
  stage: string;
  /** Time from the previous stage present to this one. */
  step: Spread;
  /** Time from the gateway receiving the request to this stage. */
  sinceIn: Spread;
}

export interface EventPath {
  /** Consuming service and the event's subject. */
  service: string;
  subject: string;
  /** Events of this subject consumed by this service per request matched to its events. */
  perRequest: number;
  /** Gateway in → event published (start of the publish span). */
  published: Spread;
  /** Publish span start → start of the consumer's `process` span. */
  delivered: Spread;
  /** The consumer's `process` span (start to end). */
  processing: Spread;
  /** Gateway in → end of the consumer's `process` span. */
  sinceIn: Spread;
}

export interface Breakdown {
  /** Requests of the window answered with the status (the root spans found). */
  requests: number;
  /** Of those, with the RPC client and server spans and every server event in their trace. */
  complete: number;
  /** Of those, matched to an event published by their tick. */
  linkedToEvents: number;
  /** When the last of their spans (responses, consumers downstream) ended. */
  lastEnd: number;
  stages: Stage[];
  events: EventPath[];
}

/**
 * Per-stage latencies of the requests whose root span started in [from, to): gateway in → RPC
 * request sent → RPC received → the server span's events → RPC server span end → reply received by
 * the gateway → response end. Then the events each request caused, publish → every consumer's
 * `process` span start and end, and on through what those consumers published.
 *
 * The ledger engine writes (and announces) in ticks of its own traces, so a request's events are
 * not in its trace: a request belongs to the `tickSpan` running in the server's process when its
 * `tickEvent` happened (ticks of one process never overlap), and within the tick the n-th request
 * (by its first server event) is matched to the n-th publish span under the tick, which is exact for
 * a tick on one ledger and may swap requests of one tick otherwise (their publishes start together).
 * Times of different processes come from one machine's clock; span starts have 1 ms resolution.
 */
export function breakdown(all: SpanRecord[], from: number, to: number, spec: BreakdownSpec): Breakdown {
  const byTrace = new Map<string, SpanRecord[]>();
  const children = new Map<string, SpanRecord[]>();
  for (const s of all) {
    const list = byTrace.get(s.traceId) ?? [];
    list.push(s);
    byTrace.set(s.traceId, list);
    if (!s.parentSpanId) continue;
    const kids = children.get(s.parentSpanId) ?? [];
    kids.push(s);
    children.set(s.parentSpanId, kids);
  }
  const roots = all.filter(
    (s) =>
      s.service === 'gateway' &&
      s.kind === Kind.server &&
      s.name === spec.root &&
      s.start >= from &&
      s.start < to &&
      Number(s.attributes['http.response.status_code']) === spec.status,
  );
  const callee = spec.rpc.split('.')[1] ?? 'server';
  const labels = [
    'RPC request sent (gateway)',
    `RPC received (${callee})`,
    ...spec.serverEvents.map((e) => e.label),
    `RPC handler done (${callee})`,
    'RPC reply received (gateway)',
    'response end (gateway)',
  ];
  const steps = labels.map(() => [] as number[]);
  const since = labels.map(() => [] as number[]);
  let complete = 0;
  // The requests of each tick, by when their change was queued.
  const ticks = all.filter((s) => s.name === spec.tickSpan).sort((a, b) => a.end - b.end);
  const byTick = new Map<SpanRecord, { root: SpanRecord; queued: number }[]>();
  for (const root of roots) {
    const trace = byTrace.get(root.traceId) ?? [];
    const client = trace.find((s) => s.kind === Kind.client && s.name === `${spec.rpc} request`);
    const server = trace.find((s) => s.kind === Kind.server && s.name === `${spec.rpc} process`);
    const eventTime = (name: string) => server?.events.find((e) => e.name === name)?.time;
    const times = [client?.start, server?.start, ...spec.serverEvents.map((e) => eventTime(e.event)), server?.end, client?.end, root.end];
    if (times.every((t) => t !== undefined)) complete++;
    let previous = root.start;
    times.forEach((t, i) => {
      if (t === undefined) return;
      steps[i]!.push(t - previous);
      since[i]!.push(t - root.start);
      previous = t;
    });
    const at = eventTime(spec.tickEvent);
    // The first tick of the server's process to end after the event that started at or before it.
    const tick = at === undefined ? undefined : ticks.find((t) => t.service === server!.service && t.end >= at && t.start <= at + 1);
    if (!tick) continue;
    const list = byTick.get(tick) ?? [];
    list.push({ root, queued: server!.events[0]?.time ?? at! });
    byTick.set(tick, list);
  }
  const paths = new Map<string, { published: number[]; delivered: number[]; processing: number[]; sinceIn: number[] }>();
  let linked = 0;
  let lastEnd = Math.max(to, ...roots.map((r) => r.end));
  for (const [tick, requests] of byTick) {
    requests.sort((a, b) => a.queued - b.queued);
    const publishes = (children.get(tick.spanId) ?? []).filter((s) => s.kind === Kind.producer);
    requests.forEach(({ root }, i) => {
      const first = publishes[i];
      if (!first) return;
      linked++;
      // Every publish and consume downstream of the request's event.
      const todo = [first];
      while (todo.length) {
        const publish = todo.pop()!;
        for (const consumer of children.get(publish.spanId) ?? []) {
          if (consumer.kind !== Kind.consumer) continue;
          const key = `${consumer.service}\u0000${consumer.name.replace(/ process$/, '')}`;
          const path = paths.get(key) ?? { published: [], delivered: [], processing: [], sinceIn: [] };
          path.published.push(publish.start - root.start);
          path.delivered.push(consumer.start - publish.start);
          path.processing.push(consumer.end - consumer.start);
          path.sinceIn.push(consumer.end - root.start);
          paths.set(key, path);
          lastEnd = Math.max(lastEnd, consumer.end);
          todo.push(...(children.get(consumer.spanId) ?? []).filter((s) => s.kind === Kind.producer));
        }
      }
    });
  }
  const n = Math.max(1, linked);
  return {
    requests: roots.length,
    complete,
    linkedToEvents: linked,
    lastEnd,
    stages: [
      { stage: 'gateway in', step: spreadOf(roots.map(() => 0)), sinceIn: spreadOf(roots.map(() => 0)) },
      ...labels.map((stage, i) => ({ stage, step: spreadOf(steps[i]!), sinceIn: spreadOf(since[i]!) })),
    ],
    events: [...paths]
      .map(([key, p]) => {
        const [service, subject] = key.split('\u0000') as [string, string];
        return {
          service,
          // Tenant ids in subjects (`evt.capacity.t_….booking.confirmed`) are left out.
          subject: subject.replace(/\.t_[A-Za-z0-9]+\./, '.<tenant>.'),
          perRequest: round(p.processing.length / n, 2),
          published: spreadOf(p.published),
          delivered: spreadOf(p.delivered),
          processing: spreadOf(p.processing),
          sinceIn: spreadOf(p.sinceIn),
        };
      })
      .sort((a, b) => a.published.p50Ms - b.published.p50Ms || a.sinceIn.p50Ms - b.sinceIn.p50Ms),
  };
}

export interface DbRow {
  service: string;
  command: string;
  collection: string;
  /** Commands started in the window per counted request. */
  perRequest: number;
  /** Of those, commands outside any span (pollers, sweeps: not caused by one request). */
  untracedPerRequest: number;
  /** Their mean duration (ms). */
  meanMs: number;
}

/** Every `mongodb.*` span started in [from, to), by service × command × collection, per request. */
export function dbCommands(all: SpanRecord[], from: number, to: number, requests: number): { total: number; rows: DbRow[] } {
  const groups = new Map<string, { n: number; ms: number; untraced: number }>();
  let total = 0;
  for (const s of within(all, from, to)) {
    if (!s.name.startsWith('mongodb.')) continue;
    const command = String(s.attributes['db.operation.name'] ?? s.name.slice('mongodb.'.length).split(' ')[0]);
    const collection = String(s.attributes['db.collection.name'] ?? '');
    const key = [s.service, command, collection].join('\u0000');
    const g = groups.get(key) ?? { n: 0, ms: 0, untraced: 0 };
    g.n++;
    if (!s.parentSpanId) g.untraced++;
    g.ms += s.end - s.start;
    groups.set(key, g);
    total++;
  }
  const per = Math.max(1, requests);
  const rows = [...groups].map(([key, g]) => {
    const [service, command, collection] = key.split('\u0000') as [string, string, string];
    return {
      service,
      command,
      collection,
      perRequest: round(g.n / per, 3),
      untracedPerRequest: round(g.untraced / per, 3),
      meanMs: round(g.ms / g.n),
    };
  });
  rows.sort((a, b) => b.perRequest - a.perRequest);
  return { total: round(total / per, 2), rows };
}

export interface Ticks {
  ticks: number;
  perSecond: number;
  meanChanges: number;
  meanLedgers: number;
  /** Duration of a tick span (ms). */
  duration: Spread;
  /** Database commands under a tick span, per tick. */
  commandsPerTick: number;
}

/** The ledger engine's `ledger tick` spans started in [from, to): how many, how big, how long (rate per `seconds` of load). */
export function ledgerTicks(all: SpanRecord[], from: number, to: number, seconds = (to - from) / 1000): Ticks {
  const ticks = within(all, from, to).filter((s) => s.name === 'ledger tick');
  const ids = new Set(ticks.map((t) => t.spanId));
  const commands = all.filter((s) => s.name.startsWith('mongodb.') && ids.has(s.parentSpanId)).length;
  const n = Math.max(1, ticks.length);
  const sum = (attr: string) => ticks.reduce((acc, t) => acc + Number(t.attributes[attr] ?? 0), 0);
  return {
    ticks: ticks.length,
    perSecond: round(ticks.length / Math.max(1e-9, seconds), 1),
    meanChanges: round(sum('allot.changes') / n),
    meanLedgers: round(sum('allot.ledgers') / n),
    duration: spreadOf(ticks.map((t) => t.end - t.start)),
    commandsPerTick: round(commands / n),
  };
}

export interface Traced {
  name: string;
  seconds: number;
  /** Seconds after the load until the last consumer of its events finished (commands and ticks counted until then). */
  afterSeconds: number;
  /** Requests counted by the load (e.g. 201s) and per second, traced. */
  ok: number;
  okPerSecond: number;
  breakdown: Breakdown;
  db: { total: number; rows: DbRow[] };
  ticks: Ticks;
}

/**
 * One traced load: requests whose root span started in [from, to); their database commands and
 * ticks are those started in [from, until), `until` being when the last consumer of their events
 * finished (consumers trail the requests; the services were idle before `from`). Commands of
 * pollers and sweeps in that time are counted too, apart as "outside any span" when untraced.
 */
export function analyse(all: SpanRecord[], name: string, from: number, to: number, spec: BreakdownSpec, ok: number): Traced {
  const b = breakdown(all, from, to, spec);
  const until = b.lastEnd;
  const seconds = (to - from) / 1000;
  return {
    name,
    seconds: round(seconds, 2),
    afterSeconds: round((until - to) / 1000, 2),
    ok,
    okPerSecond: round(ok / seconds),
    breakdown: b,
    db: dbCommands(all, from, until, b.requests),
    ticks: ledgerTicks(all, from, until, seconds),
  };
}

const cell = (s: Spread) => `${s.p50Ms} / ${s.p99Ms} / ${s.maxMs}`;

/** The breakdown, events, database commands and ticks of one traced scenario as markdown. */
export function tracedMarkdown(t: Traced, unit: string): string[] {
  const b = t.breakdown;
  return [
    `### ${t.name}: ${t.ok} ${unit}s in ${t.seconds} s (${t.okPerSecond}/s traced); ${b.requests} traced, ${b.complete} with every stage, ${b.linkedToEvents} matched to their events`,
    '',
    '| stage | from the previous stage, ms p50 / p99 / max | since gateway in, ms p50 / p99 / max |',
    '|---|---:|---:|',
    ...b.stages.map((s) => `| ${s.stage} | ${s.step.n ? cell(s.step) : '—'} | ${s.sinceIn.n ? cell(s.sinceIn) : '—'} |`),
    '',
    `| event → consumer | per ${unit} | gateway in → published | published → consumed (start) | consuming (process span) | gateway in → consumed (end) |`,
    '|---|---:|---:|---:|---:|---:|',
    ...b.events.map(
      (e) =>
        `| ${e.subject} → ${e.service} | ${e.perRequest} | ${e.published.n ? cell(e.published) : '—'} | ${e.delivered.n ? cell(e.delivered) : '—'} | ${cell(e.processing)} | ${cell(e.sinceIn)} |`,
    ),
    '',
    `Database commands per ${unit}: **${t.db.total}** (every \`mongodb.*\` span of every service from the load’s start until the last consumer of its events finished, ${t.afterSeconds} s after its end, ÷ traced ${unit}s; "outside any span" are pollers and sweeps):`,
    '',
    `| service | command | collection | per ${unit} | of which outside any span | mean ms |`,
    '|---|---|---|---:|---:|---:|',
    ...t.db.rows.map(
      (r) => `| ${r.service} | ${r.command} | ${r.collection} | ${r.perRequest} | ${r.untracedPerRequest || ''} | ${r.meanMs} |`,
    ),
    '',
    `Ledger ticks: ${t.ticks.ticks} (${t.ticks.perSecond}/s), on average **${t.ticks.meanChanges} changes on ${t.ticks.meanLedgers} ledgers** per tick, ${t.ticks.commandsPerTick} database commands per tick; tick span ms p50 / p99 / max ${cell(t.ticks.duration)}.`,
    '',
  ];
}

/** A few console lines: the stages' p50s in a row, the top database commands. */
export function tracedConsole(t: Traced, unit: string): string {
  const stages = t.breakdown.stages
    .slice(1)
    .map((s) => `${s.stage} +${s.step.p50Ms}`)
    .join(' → ');
  const events = t.breakdown.events.map((e) => `${e.subject}→${e.service} end ${e.sinceIn.p50Ms}`).join('; ');
  const db = t.db.rows
    .slice(0, 8)
    .map((r) => `${r.service} ${r.command} ${r.collection} ${r.perRequest}`)
    .join(', ');
  return [
    `traced ${t.name}: ${t.okPerSecond}/s; ${t.breakdown.complete}/${t.breakdown.requests} complete traces, ${t.breakdown.linkedToEvents} matched to events; p50 ms per stage: ${stages}`,
    `traced ${t.name}: events (p50 ms since gateway in): ${events}`,
    `traced ${t.name}: db commands per ${unit} ${t.db.total}: ${db}${t.db.rows.length > 8 ? ', ...' : ''}`,
    `traced ${t.name}: ledger ticks ${t.ticks.ticks}, mean ${t.ticks.meanChanges} changes on ${t.ticks.meanLedgers} ledgers, ${t.ticks.commandsPerTick} commands per tick`,
  ].join('\n');
}
