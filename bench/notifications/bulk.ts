/**
 * Notifications: bulk-send storage rate against this machine's database ceiling, and the delay
 * from a source event to its notification on the SSE stream — both measured in this run.
 *
 * Baseline: bare FerretDB guarded `findOneAndUpdate` with 32 concurrent callers
 * (`mongoFindOneAndUpdate`, as `make bench-baseline`), before any service runs.
 * Measured: the real notifications service and gateway (`startNotifications`, `startGateway`),
 * in this process, on the run's own nats-server and FerretDB.
 * (a) `POST /v1/notifications/bulk` of 10,000 users, polled every 20 ms until `completed`:
 *     notifications stored per second = 10,000 / (time from the 202 to completed). Checked: the
 *     job's counts, and one stored notification per user.
 * (b) Once the gateway has projected the bulk send's events, 200 `stock.low_detected` events published (50 ms apart) as the inventory service would;
 *     an API key's SSE stream on `alerts` receives each `notification.created`: the delay from
 *     publishing the event to reading its notification off the stream. The SSE reader shares
 *     this process with the services, so its delays include theirs.
 *
 * Env: BENCH_SECONDS (default 5) for the baseline, BENCH_LOG_LEVEL (default warn).
 * Writes bench/results/notifications.{json,md}.
 */

import { eventStream } from '@allot/contracts';
import { startGateway } from '@allot/gateway';
import { EventPublisher, makeEvent, systemClock } from '@allot/kit';
import { startInfra } from '@allot/local-servers';
import { startNotifications } from '@allot/notifications';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { childEnv, createTenant, newRootKey, round, sleep, versions, writeResults } from '../gateway/common';
import { machineInfo, mongoFindOneAndUpdate, summarize } from '../lib/measure';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const users = 10_000;
const liveEvents = 200;
/** Between source events: a steady trickle, so the figure is the delay of one event, not a queue built by a burst. */
const liveGapMs = 50;
const targets = { storedToBaseline: 5, liveP99Ms: 100 };

const infra = await startInfra();
try {
  const baseline = await mongoFindOneAndUpdate(infra.mongoUrl, seconds);
  const ntfEnv = childEnv(infra, 'notifications');
  const notifications = await startNotifications(ntfEnv);
  const rootKey = newRootKey();
  const gateway = await startGateway({
    ...childEnv(infra, 'gateway'),
    ROOT_API_KEY: rootKey,
    READY_SERVICES: 'notifications',
    RATE_LIMIT_PER_SECOND: '100000',
    RATE_LIMIT_BURST: '100000',
  });
  const base = `http://127.0.0.1:${gateway.port}`;
  const { tenantId, key } = await createTenant(base, rootKey);
  const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

  // (a) Bulk send.
  const userIds = Array.from({ length: users }, (_, i) => `member-${i}`);
  const accepted = await fetch(`${base}/v1/notifications/bulk`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ userIds, type: 'announcement', title: 'Maintenance', message: 'Down at 02:00 UTC.' }),
  });
  const started = performance.now();
  const { jobId } = (await accepted.json()) as { jobId: string };
  let job: { status: string; total: number; sent: number; failed: number };
  for (;;) {
    job = (await (await fetch(`${base}/v1/notifications/bulk/${jobId}`, { headers: auth })).json()) as typeof job;
    if (job.status === 'completed' || job.status === 'failed') break;
    await sleep(20);
  }
  const bulkSeconds = (performance.now() - started) / 1000;
  const storedPerSecond = round(users / bulkSeconds);
  const mongo = await new MongoClient(infra.mongoUrl).connect();
  const perUser = await mongo
    .db(ntfEnv.MONGO_DB)
    .collection('notifications')
    .aggregate<{ n: number }>([{ $match: { source: `bulk:${jobId}` } }, { $group: { _id: '$recipient', n: { $sum: 1 } } }])
    .toArray();
  await mongo.close();
  const exact =
    job.status === 'completed' && job.sent === users && job.failed === 0 && perUser.length === users && perUser.every((u) => u.n === 1);

  // (b) Source event → SSE.
  const published = new Map<string, number>();
  const delays: number[] = [];
  const stream = new AbortController();
  const res = await fetch(`${base}/v1/stream?channels=alerts`, {
    headers: { ...auth, accept: 'text/event-stream' },
    signal: stream.signal,
  });
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame.split('\n').find((l) => l.startsWith('data: '));
        if (frame.includes('event: notification.created') && data) {
          const sku = (JSON.parse(data.slice(6)) as { data: { sku: string } }).data.sku;
          const at = published.get(sku);
          if (at !== undefined) delays.push(performance.now() - at);
        }
        end = buffer.indexOf('\n\n');
      }
    }
  })().catch(() => {});
  const nc = await connect({ servers: infra.natsUrl });
  const inventory = new EventPublisher(jetstream(nc), 'inventory');
  // Live delivery is measured once the gateway has projected the bulk send's 10,000 events.
  const jsm = await jetstreamManager(nc);
  const drainStarted = performance.now();
  for (;;) {
    const info = await jsm.consumers.info(eventStream('notifications'), 'gateway-client-messages');
    if (info.num_pending === 0 && info.num_ack_pending === 0) break;
    await sleep(100);
  }
  const projectionDrainSeconds = round((performance.now() - drainStarted) / 1000, 2);
  await sleep(500);
  for (let i = 0; i < liveEvents; i++) {
    const sku = `SKU-${i}`;
    const event = makeEvent('inventory', tenantId, 'stock.low_detected', { sku, quantity: 1, reorderLevel: 5 }, systemClock);
    published.set(sku, performance.now());
    await inventory.publish(event);
    await sleep(liveGapMs);
  }
  const deadline = Date.now() + 10_000;
  while (delays.length < liveEvents && Date.now() < deadline) await sleep(50);
  stream.abort();
  await reading;
  await nc.drain();
  await gateway.stop();
  await notifications.stop();

  const live = summarize(delays, 1);
  const ratio = round(storedPerSecond / baseline.perSecond, 3);
  const verdicts = [
    `Bulk storage — ${ratio >= targets.storedToBaseline ? 'MET' : 'NOT MET'}: ${storedPerSecond} notifications stored/s = ${ratio} × bare findOneAndUpdate (${baseline.perSecond}/s); target ≥ ${targets.storedToBaseline}`,
    `Exactly once — ${exact ? 'PASS' : 'FAIL'}: job ${job.status}, sent ${job.sent}, failed ${job.failed}; ${perUser.length} users hold ${perUser.filter((u) => u.n === 1).length === perUser.length ? 'one notification each' : 'duplicates'}`,
    `Live delivery — ${live.p99Ms < targets.liveP99Ms && delays.length === liveEvents ? 'MET' : 'NOT MET'}: p99 ${live.p99Ms} ms (p50 ${live.p50Ms} ms) from the source event to the SSE frame, ${delays.length} of ${liveEvents} received; target p99 < ${targets.liveP99Ms} ms`,
  ];
  const m = machineInfo();
  const v = versions();
  const md = [
    '# Notifications: bulk sends and live delivery',
    '',
    `Measured ${new Date().toISOString()} on ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB), Node ${m.node}, ${m.platform};`,
    `nats-server ${v.NATS_SERVER_VERSION}, FerretDB ${v.FERRETDB_VERSION} (SQLite). Notifications service and gateway in the benchmark process.`,
    '',
    '| what | figure | ratio | target |',
    '|---|---:|---:|---:|',
    `| baseline: bare FerretDB guarded findOneAndUpdate (32 callers) | ${baseline.perSecond}/s | 1 | — |`,
    `| bulk send of ${users} users (batches of ${notifications.service.config.BULK_BATCH_SIZE}), 202 → completed | ${round(bulkSeconds, 2)} s = ${storedPerSecond} stored/s | **${ratio}** | ≥ ${targets.storedToBaseline} |`,
    `| source event → notification on SSE (${liveEvents} events, ${liveGapMs} ms apart) | p50 ${live.p50Ms} ms, p99 ${live.p99Ms} ms | — | p99 < ${targets.liveP99Ms} ms |`,
    '',
    `After the bulk send, the gateway took a further ${projectionDrainSeconds} s to project its ${users} \`notification.created\` events onto the SSE stream; (b) starts after that.`,
    '',
    '## Verdicts',
    '',
    ...verdicts.map((line) => `- **${line}**`),
    '',
  ].join('\n');
  writeResults(
    'notifications',
    {
      measuredAt: new Date().toISOString(),
      machine: m,
      baseline,
      bulk: { users, seconds: bulkSeconds, storedPerSecond, ratio, job, exact, projectionDrainSeconds },
      live,
      targets,
    },
    md,
  );
  console.log(md);
} finally {
  await infra.stop();
}
