/**
 * The fault suite on the deployed topology (tests/faults/cluster.ts): load on a hot date and many
 * dates, orders against a supplier that accepts, rejects, delays, fails and times out, SSE
 * clients on every kind of channel and a webhook endpoint, while faults happen one after another.
 * Once the load stops and the system settles, the promises are read back through the gateways and
 * from the databases, and the table of what happened is written to bench/results/faults.md.
 *
 * Size: FAULTS_PHASE_MS (load per fault, default 4000), FAULTS_WORKERS (clients per kind, default 3),
 * FAULTS_ROUNDS (how many times each kind of replica is killed, default 2: replica 0, then 1).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { availabilityRpc, eventStream, eventSubject } from '@allot/contracts';
import { userKey } from '@allot/gateway';
import { RpcClient } from '@allot/kit';
import { eventually } from '@allot/kit/testing';
import { startWebhookReceiver, type WebhookReceiver } from '@allot/webhook-receiver';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectLedgerBalances, finalStatuses } from '../e2e/inventory-checks';
import { today } from '../e2e/stack';
import { type Cluster, domainServices, startCluster } from './cluster';
import { type Answer, ResumingStream, request, Tally } from './load';

const phaseMs = Number(process.env.FAULTS_PHASE_MS ?? 4000);
const workers = Number(process.env.FAULTS_WORKERS ?? 3);
// FAULTS_ONLY: see below.
const rounds = Number(process.env.FAULTS_ROUNDS ?? 2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A read of the JetStream API as an operator makes it: asked again while it fails, for up to
 * `timeoutMs` (right after a node was stopped or killed, the cluster answers "JetStream system
 * temporarily unavailable" until its leaders are elected again).
 */
async function inspect<T>(read: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}

const env = {
  // The waitlist sweep is a backstop (a cancel offers its slots at once); every run of it reads the
  // queue and bookings of each waitlist, so a few times a second is plenty.
  capacity: { QUEUE_SWEEP_MS: '1000', HOLD_TTL_SECONDS: '600', REPAIR_AFTER_MS: '2000' },
  inventory: { SUPPLIER_CHECK_DELAY_MS: '300', SUPPLIER_RETRY_BASE_MS: '100', REPAIR_AFTER_MS: '1500', SUPPLIER_TIMEOUT_MS: '1000' },
  gateway: { RPC_TIMEOUT_MS: '3000' },
  // Short attempts and retries (the default schedule waits 5 minutes after the second failure),
  // so a delivery whose attempt a fault cut short is sent again within the suite's settling time.
  webhooks: { WEBHOOK_TIMEOUT_MS: '3000', WEBHOOK_RETRY_SCHEDULE: '1,2,4,8,15,30,30,30' },
};
/** The events the suite's webhook endpoint takes: each must reach it at least once. */
const webhookEvents = [
  ['capacity', 'booking.confirmed'],
  ['capacity', 'booking.cancelled'],
  ['capacity', 'queue.promoted'],
  ['inventory', 'order.created'],
  ['inventory', 'order.failed'],
  ['inventory', 'order.cancelled'],
] as const;

/**
 * Every message of a stream under these subjects, in stream order: read again until the read
 * holds as many as the stream counts for them (a read through a node that just rejoined can stop short).
 */
async function streamMessages(nc: NatsConnection, stream: string, subjects: string[]) {
  const jsm = await jetstreamManager(nc);
  let out: { subject: string; json: any; header: string; at: string; seq: number }[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    let stored = 0;
    for (const subject of subjects) {
      const info = await inspect(() => jsm.streams.info(stream, { subjects_filter: subject }));
      stored += Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    }
    out = [];
    const consumer = await inspect(() =>
      jetstream(nc).consumers.get(stream, { filter_subjects: subjects, deliver_policy: DeliverPolicy.All }),
    );
    let left = (await inspect(() => consumer.info())).num_pending;
    while (left > 0) {
      for await (const m of await consumer.fetch({ max_messages: Math.min(left, 500), expires: 2000 })) {
        out.push({
          subject: m.subject,
          json: m.json(),
          header: m.headers?.get('Allot-Event') ?? '',
          at: String(m.info.timestampNanos),
          seq: m.seq,
        });
        left--;
      }
    }
    if (out.length >= stored) return out;
    await sleep(1000);
  }
  throw new Error(`could not read all of ${stream} ${subjects.join(',')}: ${out.length} read`);
}

describe('the cluster under faults', () => {
  let cluster: Cluster;
  let nc: NatsConnection;
  let mongo: MongoClient;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    cluster = await startCluster({ env });
    // The local user (no credentials) may inspect every stream.
    nc = await connect({ servers: cluster.nats.url.split(','), maxReconnectAttempts: -1 });
    mongo = await new MongoClient(cluster.mongoUrl).connect();
  }, 150_000);
  afterAll(async () => {
    await mongo?.close();
    await nc?.close();
    await cluster?.stop();
    await receiver?.close();
  }, 60_000);

  it('faults - every promise holds after kills, pauses and timeouts under load', async () => {
    const bootCrashes = cluster.crashes.length;
    const bases = cluster.gateways.map((g) => g.base);
    const tenant = await request(bases[0]!, cluster.rootKey, 'POST', '/v1/tenants', { name: 'faults' });
    expect(tenant.status).toBe(201);
    const tenantId: string = tenant.body.tenant.id;
    const key: string = tenant.body.apiKey.key;
    const tally = new Tally();
    let turn = 0;
    /** A request to the next gateway in turn, counted. */
    const send = async (kind: string, method: string, urlPath: string, body?: unknown, headers?: Record<string, string>) => {
      const answer: Answer = await request(bases[turn++ % 2]!, key, method, urlPath, body, headers);
      tally.add(kind, answer.outcome);
      return answer;
    };

    // A webhook endpoint taking bookings' and orders' events, made before any of them happens
    // (an endpoint gets the events from its creation on; each replica sees it within 2 s).
    const hook = await request(bases[1]!, key, 'POST', '/v1/webhooks/endpoints', {
      url: `${receiver.url}/hooks/accept/faults`,
      eventTypes: webhookEvents.map(([, type]) => type),
    });
    expect(hook.status).toBe(201);
    await sleep(2500);

    const hot = today(1);
    const dates = [hot, today(2), today(3), today(4), today(5)];
    // SSE clients on every channel kind, open before anything happens: those an API key reads, and
    // a user's own channel (the user every bulk send also goes to).
    const watcher = 'watcher';
    const watcherToken = await request(bases[0]!, key, 'POST', '/v1/auth/user-tokens', { userId: watcher });
    expect(watcherToken.status).toBe(201);
    const streams = [
      new ResumingStream(bases, key, 'bookings', 0),
      new ResumingStream(bases, key, 'orders', 1),
      new ResumingStream(bases, key, 'alerts,bookings', 1),
      new ResumingStream(bases, key, `availability.${hot}`, 0),
      new ResumingStream(bases, watcherToken.body.token, 'user', 1),
    ];
    await Promise.all(streams.map((s) => s.opened));
    await sleep(500);

    const admin = (method: string, urlPath: string, body?: unknown) => request(bases[0]!, key, method, urlPath, body);
    const session = (await admin('POST', '/v1/sessions', { name: 'Hot', maxCapacity: 12 })).body;
    expect(session?.id).toBeDefined();
    const skus = { local: 'LOCAL-1', supplied: 'SUPPLIED-1', rejected: 'REJECTED-1', flaky: 'FLAKY-1' };
    for (const [sku, quantity] of [
      [skus.local, 30],
      [skus.supplied, 0],
      [skus.rejected, 0],
      [skus.flaky, 0],
    ] as const)
      expect((await admin('POST', '/v1/skus', { sku, name: sku, quantity })).status).toBe(201);
    const scenario = (sku: string, body: unknown) =>
      fetch(`${cluster.supplierUrl}/_scenarios/${sku}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await scenario(skus.supplied, { reserve: 'accept', statuses: ['delayed', 'ok'] });
    await scenario(skus.rejected, { reserve: 'reject' });
    await scenario(skus.flaky, { reserve: 'error', latencyMs: 50 });

    // What clients were told, by the id of the request (its Idempotency-Key and the userId it names).
    const bookings201 = new Map<string, string>(); // booking id → request id
    const orders202 = new Map<string, string>();
    /** Requests whose answer was lost (5xx, timeout, dropped): asked again with their key once settled. */
    const unknownBookings: Unknown[] = [];
    const hotBookings: string[] = []; // confirmed on the hot date, cancelled in turn to promote the waitlist
    const unknownOrders: Unknown[] = [];

    let loadUntil = 0;
    let hotFull = false;
    const joinQueue = (req: string, date: string) =>
      send(
        'POST /v1/queue',
        'POST',
        '/v1/queue',
        { sessionId: session.id, date, requestedSlots: 1, userId: `q${req}` },
        { 'idempotency-key': `q${req}` },
      );
    const bookingWorker = async (n: number) => {
      for (let i = 0; Date.now() < loadUntil; i++) {
        const req = `b${n}-${i}-${Date.now().toString(36)}`;
        const date = i % 3 === 0 ? (dates[1 + (i % 4)] as string) : hot;
        if (date === hot && hotFull) {
          // The hot date is full: people join its waitlist, and others give up their seats, which promotes it.
          const freed = i % 2 === 1 ? hotBookings.shift() : undefined;
          if (freed) await send('POST /v1/bookings/:id/cancel', 'POST', `/v1/bookings/${freed}/cancel`);
          else await joinQueue(req, date);
          continue;
        }
        const hold = i % 4 === 0;
        const body = { sessionId: session.id, date, adults: 1, hold, userId: req };
        const res = await send('POST /v1/bookings', 'POST', '/v1/bookings', body, { 'idempotency-key': req });
        if (res.status === 201) {
          bookings201.set(res.body.id, req);
          if (hold && i % 8 === 0) await send('POST /v1/bookings/:id/confirm', 'POST', `/v1/bookings/${res.body.id}/confirm`);
          else if (i % 3 === 1) await send('POST /v1/bookings/:id/cancel', 'POST', `/v1/bookings/${res.body.id}/cancel`);
          else if (date === hot && !hold) hotBookings.push(res.body.id);
        } else if (res.outcome === 'unknown') unknownBookings.push({ req, key, path: '/v1/bookings', body });
        else if (res.status === 409) {
          if (date === hot) hotFull = true;
          await joinQueue(req, date);
        }
      }
    };
    const orderWorker = async (n: number) => {
      const order = [skus.local, skus.local, skus.supplied, skus.rejected, skus.flaky];
      for (let i = 0; Date.now() < loadUntil; i++) {
        const req = `o${n}-${i}-${Date.now().toString(36)}`;
        const sku = order[(n + i) % order.length] as string;
        // Orders name their user through the credential: each request is a user of its own.
        const token = await send('POST /v1/auth/user-tokens', 'POST', '/v1/auth/user-tokens', { userId: req });
        if (token.status !== 201) continue;
        const body = { sku, qty: 1 + (i % 2) };
        const res = await request(bases[turn++ % 2]!, token.body.token, 'POST', '/v1/orders', body, { 'idempotency-key': req });
        tally.add('POST /v1/orders', res.outcome);
        if (res.status === 202) {
          orders202.set(res.body.id, req);
          if (i % 6 === 0) await send('POST /v1/orders/:id/cancel', 'POST', `/v1/orders/${res.body.id}/cancel`);
        } else if (res.outcome === 'unknown') unknownOrders.push({ req, key: token.body.token, path: '/v1/orders', body });
        if (i % 5 === 0) await send('POST /v1/skus/:sku/restock', 'POST', `/v1/skus/${skus.local}/restock`, { quantity: 2 });
      }
    };
    // Bulk sends to fresh recipients, a few per phase: each must end sent to each of them exactly once.
    const bulkJobs = new Map<string, string[]>(); // job id → its recipients
    const unknownBulk: (Unknown & { userIds: string[] })[] = [];
    const bulkWorker = async () => {
      for (let i = 0; Date.now() < loadUntil; i++) {
        const req = `n${i}-${Date.now().toString(36)}`;
        const userIds = [...Array.from({ length: 39 }, (_, k) => `${req}-u${k}`), watcher];
        const body = { userIds, type: 'announcement', title: 'Faults', message: `Send ${req}` };
        const res = await send('POST /v1/notifications/bulk', 'POST', '/v1/notifications/bulk', body, { 'idempotency-key': req });
        if (res.status === 202) bulkJobs.set(res.body.jobId, userIds);
        else if (res.outcome === 'unknown') unknownBulk.push({ req, key, path: '/v1/notifications/bulk', body, userIds });
        await sleep(1000);
      }
    };
    const underLoad = async (fault: () => Promise<void>) => {
      loadUntil = Date.now() + phaseMs;
      const load = Promise.all([
        ...Array.from({ length: workers }, (_, n) => bookingWorker(n)),
        ...Array.from({ length: Math.max(1, workers - 1) }, (_, n) => orderWorker(n)),
        bulkWorker(),
      ]);
      await sleep(Math.min(1000, phaseMs / 4));
      await fault();
      await load;
    };

    const jsm = await jetstreamManager(nc);
    /** The node leading a stream's replicas (asked again while a restarted node catches up). */
    const nodeLeading = (stream: string) =>
      eventually(async () => {
        const leader = await jsm.streams
          .info(stream)
          .then((info) => info.cluster?.leader)
          .catch(() => undefined);
        return cluster.nats.nodes.find((n) => n.name === leader);
      }, 30_000);
    const busiest = eventStream('capacity');
    /** A durable consumer's deliveries so far, the messages its filter holds, and those not yet delivered. */
    const deliveries = (stream: string, durable: string) =>
      inspect(async () => {
        const info = await jsm.consumers.info(stream, durable);
        const filters = info.config.filter_subjects ?? [info.config.filter_subject ?? '>'];
        let messages = 0;
        for (const subject of filters) {
          const state = (await jsm.streams.info(stream, { subjects_filter: subject })).state;
          messages += Object.values(state.subjects ?? {}).reduce((a, b) => a + b, 0);
        }
        return { delivered: info.delivered.consumer_seq, messages, pending: info.num_pending };
      });
    /** Events of capacity delivered again to notifications while one replica was paused. */
    let redelivered: number | undefined;
    /** Whether notifications-0 died at its failpoint, and the events of inventory delivered again after. */
    let diedBeforeAck: boolean | undefined;
    let redeliveredAfterKill: number | undefined;
    // Each kind of replica killed once per round, replica 0 then replica 1; each gateway killed with streams open.
    const faults: { name: string; run: () => Promise<void> }[] = [
      ...Array.from({ length: rounds }, (_, round) =>
        domainServices.map((service) => ({
          name: `SIGKILL of ${service}-${round % 2}`,
          run: async () => {
            const replica = cluster.replicas.find((r) => r.name === `${service}-${round % 2}`)!;
            await replica.kill('SIGKILL');
            await replica.start();
          },
        })),
      ).flat(),
      ...cluster.gateways.map((gateway) => ({
        name: `SIGKILL of ${gateway.name} with streams open`,
        run: async () => {
          await gateway.kill('SIGKILL');
          await sleep(500);
          await gateway.start();
        },
      })),
      {
        name: `SIGKILL of the NATS node leading ${busiest}`,
        run: async () => {
          const node = await nodeLeading(busiest);
          node.signal('SIGKILL');
          await sleep(2000);
          await node.restart();
        },
      },
      {
        name: 'SIGSTOP of a NATS node for 10 s',
        run: async () => {
          const node = await nodeLeading('CLIENT');
          node.signal('SIGSTOP');
          await sleep(10_000);
          node.signal('SIGCONT');
        },
      },
      {
        name: 'SIGSTOP of FerretDB for 5 s',
        run: async () => {
          cluster.ferret.signal('SIGSTOP');
          await sleep(5000);
          cluster.ferret.signal('SIGCONT');
        },
      },
      {
        name: 'FerretDB restarted',
        run: () => cluster.ferret.restart(),
      },
      {
        name: 'SIGSTOP of a NATS node for 10 s while capacity-1 and notifications-1 are SIGKILLed',
        run: async () => {
          const node = await nodeLeading(eventStream('notifications'));
          const stoppedAt = Date.now();
          node.signal('SIGSTOP');
          const killed = cluster.replicas.filter((r) => ['capacity-1', 'notifications-1'].includes(r.name));
          await Promise.all(killed.map((r) => r.kill('SIGKILL')));
          await Promise.all(killed.map((r) => r.start()));
          await sleep(Math.max(0, 10_000 - (Date.now() - stoppedAt)));
          node.signal('SIGCONT');
        },
      },
      {
        // Duplicate delivery: notifications-1, alone (notifications-0 is down), is paused; events
        // handed to its open pull requests sit there unacknowledged until their ack wait (30 s)
        // passes and they are delivered again to notifications-0 (started again meanwhile);
        // resumed, notifications-1 handles them too. The suite counts such deliveries.
        name: 'notifications-1 paused (SIGSTOP) past its ack wait: its events handled again by notifications-0',
        run: async () => {
          const [first, paused] = ['notifications-0', 'notifications-1'].map((name) => cluster.replicas.find((r) => r.name === name)!);
          const before = await deliveries(eventStream('capacity'), 'notifications-capacity');
          await first!.kill('SIGKILL');
          paused!.process.kill('SIGSTOP');
          const stoppedAt = Date.now();
          loadUntil = Date.now() + phaseMs; // events keep coming while it is paused
          await sleep(phaseMs);
          await first!.start();
          await sleep(Math.max(0, 35_000 - (Date.now() - stoppedAt)));
          paused!.process.kill('SIGCONT');
          await sleep(3000);
          const after = await deliveries(eventStream('capacity'), 'notifications-capacity');
          // Deliveries beyond the first of each message: the ones handed out again.
          redelivered = after.delivered - before.delivered - (after.messages - before.messages) - (before.pending - after.pending);
        },
      },
      {
        // Duplicate delivery, every run: notifications-0, alone (notifications-1 is down), dies by
        // a failpoint right after its handler ran for an event of inventory (orders flow all
        // along) and before it acked it. That event (and any others handed to it) is delivered
        // again once its ack wait (30 s) passes, and handled again: the invariants say with no
        // second effect.
        name: 'notifications-0 SIGKILLed after handling an event and before acking it: the event is delivered again',
        run: async () => {
          const [first, second] = ['notifications-0', 'notifications-1'].map((name) => cluster.replicas.find((r) => r.name === name)!);
          const consumer = [eventStream('inventory'), 'notifications-inventory'] as const;
          const before = await deliveries(...consumer);
          await second!.kill('SIGKILL');
          loadUntil = Date.now() + 3 * phaseMs; // events keep coming while it starts and until it has died
          diedBeforeAck = await first!.dieAt(`before-ack:${consumer[1]}`, 3 * phaseMs);
          await second!.start();
          await eventually(async () => {
            const after = await deliveries(...consumer);
            redeliveredAfterKill =
              after.delivered - before.delivered - (after.messages - before.messages) - (before.pending - after.pending);
            return redeliveredAfterKill > 0;
          }, 45_000).catch(() => {});
        },
      },
      {
        name: 'the supplier times out (3 s answers, 1 s timeout)',
        run: async () => {
          await scenario(skus.supplied, { reserve: 'accept', statuses: ['delayed', 'ok'], latencyMs: 3000 });
          await sleep(phaseMs / 2);
          await scenario(skus.supplied, { reserve: 'accept', statuses: ['delayed', 'ok'] });
        },
      },
    ];
    // FAULTS_ONLY=<words,…> keeps the faults whose name contains one of them (to find which one breaks a promise).
    const only = process.env.FAULTS_ONLY?.split(',').filter(Boolean);
    const chosen = only ? faults.filter((f) => only.some((w) => f.name.includes(w))) : faults;
    const timeline: string[] = [];
    for (const fault of chosen) {
      timeline.push(`${new Date().toISOString()} ${fault.name}`);
      await underLoad(fault.run);
    }
    timeline.push(`${new Date().toISOString()} load stopped`);

    // Each request whose answer was lost is asked again with its key, as a careful client does
    // (while its first attempt still holds the key — a dead gateway's lock until it lapses — the
    // answer is 409 "in progress": asked again a second later). Their effects settle with the rest.
    const askBy = Date.now() + 75_000;
    const askAgain = async (u: Unknown) => {
      for (let attempt = 0; Date.now() < askBy; attempt++) {
        const answer = await request(bases[attempt % 2]!, u.key, 'POST', u.path, u.body, { 'idempotency-key': u.req });
        const inProgress = answer.status === 409 && answer.body?.code === 'conflict';
        if (answer.outcome !== 'unknown' && !inProgress) return answer;
        await sleep(1000);
      }
      return undefined;
    };
    await Promise.all(
      [...unknownBookings, ...unknownOrders, ...unknownBulk].map(async (u) => {
        u.retried = await askAgain(u);
      }),
    );
    for (const u of unknownBulk) if (u.retried?.status === 202) bulkJobs.set(u.retried.body.jobId, u.userIds);
    for (const u of unknownBookings) if (u.retried?.status === 201) bookings201.set(u.retried.body.id, u.req);
    for (const u of unknownOrders) if (u.retried?.status === 202) orders202.set(u.retried.body.id, u.req);
    timeline.push(`${new Date().toISOString()} unknown outcomes asked again with their keys`);

    // Settled: every replica running, nothing in flight, no order left pending without a reason.
    const capacity = mongo.db(cluster.dbs.capacity);
    const inventory = mongo.db(cluster.dbs.inventory);
    await eventually(
      async () =>
        (await capacity
          .collection('slots')
          .countDocuments({ $or: [{ 'outbox.0': { $exists: true } }, { 'inflight.0': { $exists: true } }] })) === 0 &&
        (await capacity.collection('bookings').countDocuments({ releasing: true })) === 0 &&
        (await inventory.collection('skus').countDocuments({ 'inflight.0': { $exists: true } })) === 0 &&
        (await inventory.collection('orders').countDocuments({ $or: [{ releasing: true }, { status: 'pending', blockedBy: null }] })) === 0,
      120_000,
      500,
    );
    timeline.push(`${new Date().toISOString()} settled: nothing in flight`);

    // ...and every service answers through both gateways again.
    let lastAnswer: Answer | undefined;
    const serving = await eventually(
      async () => {
        for (const base of bases) {
          for (const path of [
            `/v1/skus/${skus.local}`,
            `/v1/bookings?limit=1`,
            `/v1/notifications?limit=1`,
            `/v1/webhooks/endpoints`,
            `/v1/availability?date=${hot}&sessionId=${session.id}`,
          ]) {
            lastAnswer = await request(base, key, 'GET', path);
            if (lastAnswer.status !== 200) return false;
          }
        }
        return true;
      },
      45_000,
      500,
    ).catch(() => false);

    /** A read as a careful client makes it: a 5xx or a timeout (a busy machine, a service catching up) is asked again. */
    const read = async (urlPath: string) => {
      let answer = await admin('GET', urlPath);
      for (let retry = 0; answer.outcome === 'unknown' && retry < 10; retry++) {
        await sleep(500);
        answer = await admin('GET', urlPath);
      }
      return answer;
    };
    // What must still arrive (the read model, notifications, SSE messages) shares one budget, so a
    // broken promise fails the suite in minutes instead of each check waiting out a time of its own.
    const reachBy = Date.now() + 150_000;
    const remaining = () => Math.max(1000, reachBy - Date.now());
    const results: Result[] = [];
    const check = async (invariant: string, fn: () => Promise<string | undefined>) => {
      const started = Date.now();
      const seconds = () => Math.round((Date.now() - started) / 100) / 10;
      try {
        const detail = (await fn()) ?? '';
        results.push({ invariant, ok: true, detail, seconds: seconds() });
      } catch (error) {
        results.push({
          invariant,
          ok: false,
          seconds: seconds(),
          detail: String((error as Error).message)
            .split('\n')[0]!
            .slice(0, 400),
        });
      }
    };

    await check('every service answers through both gateways once settled', async () => {
      expect(serving, `last answer: ${lastAnswer?.status} ${JSON.stringify(lastAnswer?.body)}`).toBe(true);
      return undefined;
    });
    // Ledgers and bookings read together once they agree (a promotion's booking may still be on its
    // way when the sweep settles); if they never agree within a minute, the last reading is judged.
    const readLedgers = async () => ({
      ledgers: await capacity
        .collection('slots')
        .find({ _id: { $in: dates.map((d) => `${session.id}:${d}`) as never[] } })
        .toArray(),
      allBookings: await capacity.collection('bookings').find({ sessionId: session.id }).toArray(),
    });
    const agree = ({ ledgers, allBookings }: Awaited<ReturnType<typeof readLedgers>>) =>
      ledgers.every(
        (l) =>
          l.booked ===
          allBookings
            .filter((b) => b.date === String(l._id).split(':')[1] && ['held', 'confirmed'].includes(b.status))
            .reduce((sum, b) => sum + (b.slots as number), 0),
      );
    let reading = await readLedgers();
    await eventually(
      async () => {
        reading = await readLedgers();
        return agree(reading);
      },
      45_000,
      500,
    ).catch(() => {});
    const { ledgers, allBookings } = reading;

    await check('never oversold; each ledger equals its confirmed and held bookings', async () => {
      for (const ledger of ledgers) {
        const date = String(ledger._id).split(':')[1];
        const live = allBookings.filter((b) => b.date === date && ['held', 'confirmed'].includes(b.status));
        expect(ledger.booked, `ledger ${ledger._id}`).toBe(live.reduce((sum, b) => sum + (b.slots as number), 0));
        expect(ledger.booked).toBeLessThanOrEqual(ledger.maxSlots);
      }
      return `${ledgers.length} ledgers, ${allBookings.length} bookings (${allBookings.filter((b) => b.queueEntryId).length} promoted from the waitlist)`;
    });
    await check("each SKU's stock equals its movements", async () => {
      for (const sku of Object.values(skus)) await expectLedgerBalances(((_m: string, p: string) => read(p)) as never, sku);
      return `${Object.keys(skus).length} SKUs`;
    });
    await check('every 201 booking and 202 order is listed', async () => {
      for (const id of bookings201.keys()) expect((await read(`/v1/bookings/${id}`)).status, id).toBe(200);
      for (const id of orders202.keys()) expect((await read(`/v1/orders/${id}`)).status, id).toBe(200);
      return `${bookings201.size} bookings, ${orders202.size} orders`;
    });
    const allOrders = await inventory.collection('orders').find({}).toArray();
    await check('no booking or order without its request; unknown outcomes took effect at most once', async () => {
      const count = (docs: { userId?: string | null }[]) => {
        const per = new Map<string, number>();
        for (const d of docs) if (d.userId) per.set(d.userId, (per.get(d.userId) ?? 0) + 1);
        return per;
      };
      const perBooking = count(allBookings.filter((b) => !b.queueEntryId) as never);
      const perOrder = count(allOrders as never);
      expect([...perBooking.entries()].filter(([, n]) => n > 1)).toEqual([]);
      expect([...perOrder.entries()].filter(([, n]) => n > 1)).toEqual([]);
      const reqs = (unknown: Unknown[]) => unknown.map((u) => u.req);
      const asked = new Set([...bookings201.values(), ...reqs(unknownBookings), ...orders202.values(), ...reqs(unknownOrders)]);
      expect([...perBooking.keys(), ...perOrder.keys()].filter((req) => !asked.has(req))).toEqual([]);
      const perEntry = count(allBookings.filter((b) => b.queueEntryId).map((b) => ({ userId: b.queueEntryId })));
      expect([...perEntry.entries()].filter(([, n]) => n > 1)).toEqual([]);
      const applied = (reqs: string[], per: Map<string, number>) => reqs.filter((r) => per.has(r)).length;
      // Asked again with its key, an unknown request answers what it made (the first attempt's, or
      // this one's), or a definite no when nothing was made: never a second one.
      for (const [unknown, docs] of [
        [unknownBookings, allBookings],
        [unknownOrders, allOrders],
      ] as const) {
        for (const u of unknown) {
          const made = docs.filter((d) => d.userId === u.req && !d.queueEntryId).map((d) => String(d._id));
          if (u.retried?.outcome === 'accepted') expect(made, `${u.req} answered ${u.retried.body?.id}`).toEqual([u.retried.body?.id]);
          else expect({ req: u.req, made, answer: u.retried?.status }).toEqual({ req: u.req, made: [], answer: u.retried?.status });
        }
        expect(unknown.filter((u) => u.retried === undefined).map((u) => u.req)).toEqual([]);
      }
      // "Made" counts what exists once asked again (by the first attempt or the second): most unknown
      // orders are refused connections to a gateway just killed, made by the second attempt.
      return `unknown: ${unknownBookings.length} bookings (${applied(reqs(unknownBookings), perBooking)} made), ${unknownOrders.length} orders (${applied(reqs(unknownOrders), perOrder)} made); each asked again with its key got the one it made or a definite no`;
    });
    await check('every order is final or waiting on something named', async () => {
      const open = allOrders.filter(
        (o) => !finalStatuses.includes(o.status) && !['reserved', 'awaiting_restock'].includes(o.status) && !o.blockedBy,
      );
      expect(open.map((o) => `${o._id} ${o.status}`)).toEqual([]);
      const by = (s: string) => allOrders.filter((o) => o.status === s).length;
      return `${allOrders.length} orders: ${['fulfilled', 'failed', 'cancelled', 'reserved', 'awaiting_restock'].map((s) => `${by(s)} ${s}`).join(', ')}, ${allOrders.filter((o) => o.blockedBy).length} blocked`;
    });
    await check("availability's read model equals the ledgers", async () => {
      const rpc = new RpcClient(nc);
      const asTenant = { tenantId, actor: { kind: 'apiKey' as const, keyId: 'faults' } };
      for (const ledger of ledgers) {
        await eventually(
          async () => {
            const seen = await rpc.call(
              'availability',
              'availability.get',
              availabilityRpc['availability.get'],
              { date: String(ledger._id).split(':')[1]!, sessionId: session.id },
              asTenant,
            );
            return (seen as { bookedSlots: number }).bookedSlots === ledger.booked;
          },
          remaining(),
          250,
        );
      }
      return `${ledgers.length} dates`;
    });
    // The tenant's notifications read whole and counted here, per source and recipient: a query
    // per event (each a scan of the collection on FerretDB) slowed the service it waited for.
    const notifications = mongo.db(cluster.dbs.notifications).collection('notifications');
    const perEvent = new Map<string, number>();
    const readNotifications = async () => {
      perEvent.clear();
      for (const n of await notifications.find({ tenantId }, { projection: { source: 1, recipient: 1 } }).toArray())
        perEvent.set(`${n.source} ${n.recipient}`, (perEvent.get(`${n.source} ${n.recipient}`) ?? 0) + 1);
    };
    await check('one notification per event and recipient', async () => {
      const events = (
        await streamMessages(nc, eventStream('capacity'), [
          eventSubject('capacity', tenantId, 'booking.confirmed'),
          eventSubject('capacity', tenantId, 'booking.cancelled'),
        ])
      ).map((m) => m.json as { id: string; data: { booking: { userId: string | null } } });
      const expected = events.filter((e) => e.data.booking.userId);
      await eventually(
        async () => {
          await readNotifications();
          return expected.every((e) => perEvent.has(`${e.id} user:${e.data.booking.userId}`));
        },
        remaining(),
        1000,
      ).catch(() => {});
      const counts = expected.map((e) => [e.id, perEvent.get(`${e.id} user:${e.data.booking.userId}`) ?? 0] as const);
      expect(counts.filter(([, n]) => n !== 1)).toEqual([]);
      // And no event of any kind notified a recipient twice.
      expect([...perEvent].filter(([, n]) => n > 1)).toEqual([]);
      // The failpoint's kill must have caused deliveries again (so this check saw duplicates);
      // the pause past the ack wait is reported, not required (the server hands a paused
      // replica's pull requests nothing in some runs).
      if (diedBeforeAck !== undefined) {
        expect({ diedBeforeAck, redeliveredAfterKill: Math.sign(redeliveredAfterKill ?? 0) }).toEqual({
          diedBeforeAck: true,
          redeliveredAfterKill: 1,
        });
      }
      return [
        `${expected.length} events`,
        ...(redeliveredAfterKill === undefined ? [] : [`${redeliveredAfterKill} delivered again after the kill before the ack`]),
        ...(redelivered === undefined ? [] : [`${redelivered} delivered again during the pause`]),
      ].join('; ');
    });
    await check('every bulk send accepted reached each of its recipients once', async () => {
      for (const [jobId, userIds] of bulkJobs) {
        const job = await eventually(
          async () => {
            const answer = await read(`/v1/notifications/bulk/${jobId}`);
            return answer.body?.status === 'completed' && answer.body;
          },
          remaining(),
          500,
        ).catch(() => undefined);
        const last = job || (await read(`/v1/notifications/bulk/${jobId}`)).body;
        expect(`${jobId} ${last?.status} sent ${last?.sent} failed ${last?.failed} of ${userIds.length}`).toBe(
          `${jobId} completed sent ${userIds.length} failed 0 of ${userIds.length}`,
        );
      }
      await readNotifications();
      for (const [jobId, userIds] of bulkJobs) {
        expect(
          userIds.filter((u) => perEvent.get(`bulk:${jobId} user:${u}`) !== 1),
          jobId,
        ).toEqual([]);
        const sent = [...perEvent.keys()].filter((k) => k.startsWith(`bulk:${jobId} `)).length;
        expect(sent, jobId).toBe(userIds.length);
      }
      expect(unknownBulk.filter((u) => u.retried === undefined).map((u) => u.req)).toEqual([]);
      return `${bulkJobs.size} sends of 40 recipients; ${unknownBulk.length} unknown, asked again with their keys`;
    });
    await check('every SSE client got every message of its channels once, in order, across reconnects', async () => {
      const subjectsOf = (channels: string) =>
        channels.split(',').map((c) => {
          if (c.startsWith('availability.')) return `client.${tenantId}.availability.*.${c.slice(13)}`;
          if (c === 'user') return `client.${tenantId}.user.${userKey(watcher)}`;
          return `client.${tenantId}.${c}`;
        });
      for (const stream of streams) {
        // A client message names its event in a header and its body is the data (before, both were the body).
        const stored = await streamMessages(nc, 'CLIENT', subjectsOf(stream.channels));
        const expected = stored.map((m) =>
          m.header ? `${m.header} ${JSON.stringify(m.json)}` : `${m.json.event} ${JSON.stringify(m.json.data)}`,
        );
        await eventually(async () => stream.received.length >= expected.length, remaining(), 250).catch(() => {});
        const got = stream.received.map((e) => `${e.event} ${JSON.stringify(JSON.parse(e.data))}`);
        if (JSON.stringify(got) !== JSON.stringify(expected)) {
          writeFileSync(
            `${cluster.logFile}.${stream.channels}.json`,
            JSON.stringify(
              {
                expected,
                got,
                received: stream.received,
                connections: stream.connections,
                stored: stored.map((m) => ({ seq: m.seq, at: m.at })),
              },
              null,
              1,
            ),
          );
        }
        expect(
          got,
          `${stream.channels}, ${stream.connections.length} connections (all in ${cluster.logFile}.${stream.channels}.json)`,
        ).toEqual(expected);
      }
      // Every client lost its stream at least once (its gateway was killed) and resumed.
      if (chosen.some((f) => f.name.includes('gateway')))
        expect(streams.filter((s) => s.reconnects === 0).map((s) => s.channels)).toEqual([]);
      return streams.map((s) => `${s.channels}: ${s.received.length} messages, ${s.reconnects} reconnects`).join('; ');
    });
    await check('every event reached the webhook endpoint at least once, signed, none invented', async () => {
      const ids = new Set<string>();
      for (const [source, type] of webhookEvents)
        for (const m of await streamMessages(nc, eventStream(source), [eventSubject(source, tenantId, type)])) ids.add(m.json.id);
      const got = () => new Set(receiver.received('/hooks/accept/faults').map((r) => r.headers['webhook-id']));
      await eventually(async () => [...ids].every((id) => got().has(id)), remaining(), 500).catch(() => {});
      const seen = got();
      expect(
        [...ids].filter((id) => !seen.has(id)),
        'events never delivered',
      ).toEqual([]);
      expect(
        [...seen].filter((id) => !ids.has(id as string)),
        'deliveries of no event',
      ).toEqual([]);
      const hits = receiver.received('/hooks/accept/faults');
      const webhook = new Webhook(hook.body.secret);
      // Verified as the endpoint would have when it arrived: the signature's timestamp is checked
      // against the clock (5 minutes' tolerance), and the suite runs longer than that.
      const verified = (hit: (typeof hits)[number]) => {
        vi.useFakeTimers({ toFake: ['Date'], now: hit.at });
        try {
          webhook.verify(hit.body, hit.headers);
          return true;
        } catch {
          return false;
        } finally {
          vi.useRealTimers();
        }
      };
      expect(
        hits.filter((hit) => !verified(hit)).map((hit) => hit.headers['webhook-id']),
        'unsigned',
      ).toEqual([]);
      return `${ids.size} events, ${hits.length} deliveries (${hits.length - seen.size} again: at least once)`;
    });
    await Promise.all(streams.map((s) => s.close()));
    await check('no replica exited by itself under the faults', async () => {
      expect(cluster.crashes.slice(bootCrashes)).toEqual([]);
      return bootCrashes ? `at boot: ${cluster.crashes.slice(0, bootCrashes).join('; ')}` : undefined;
    });

    writeReport(timeline, tally, results);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(bookings201.size).toBeGreaterThan(10);
    expect(orders202.size).toBeGreaterThan(10);
    // With the cluster's start (at most 150 s) the whole suite ends within 10 minutes, passed or failed.
  }, 450_000);
});

/** A request whose answer was lost, and the answer to asking it again with the same Idempotency-Key. */
interface Unknown {
  req: string;
  /** The credential it was sent with (an idempotency key belongs to its credential). */
  key: string;
  path: string;
  body: unknown;
  retried?: Answer;
}

interface Result {
  invariant: string;
  ok: boolean;
  detail: string;
  /** How long the check took (most of it waiting for what must still arrive). */
  seconds: number;
}

function writeReport(faults: string[], tally: Tally, results: Result[]) {
  const lines = [
    '# Fault suite on a cluster',
    '',
    'Written by `tests/faults/cluster-faults.test.ts`: three clustered nats-servers (streams of 3 replicas),',
    'one FerretDB, two replicas of every domain service, two gateways; the faults below happened one after',
    `another, each under ${phaseMs} ms of load from ${workers} booking clients, ${Math.max(1, workers - 1)} order clients and a bulk sender.`,
    '',
    '## Faults injected',
    '',
    ...faults.map((f, i) => `${i + 1}. ${f}`),
    '',
    '## Requests',
    '',
    '| request | accepted | refused (4xx) | unknown (5xx, timeout, dropped) |',
    '| --- | --- | --- | --- |',
    ...[...tally.byKind.entries()].map(([kind, r]) => `| ${kind} | ${r.accepted} | ${r.refused} | ${r.unknown} |`),
    '',
    '## Invariants',
    '',
    '| invariant | result | checked in | detail |',
    '| --- | --- | --- | --- |',
    ...results.map((r) => `| ${r.invariant} | ${r.ok ? 'held' : '**broken**'} | ${r.seconds} s | ${r.detail.replaceAll('|', '\\|')} |`),
    '',
  ];
  writeFileSync(path.resolve(__dirname, '../../bench/results/faults.md'), lines.join('\n'));
}
