import type { Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import {
  type EventEnvelope,
  type EventType,
  eventStream,
  eventWildcard,
  jobStream,
  ping,
  redeliverySubject,
  type ServiceName,
} from '@allot/contracts';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Db, IndexDescription, MongoClient } from 'mongodb';
import type { z } from 'zod';
import { type Clock, systemClock } from './clock';
import { type BaseEnv, baseEnv, ConfigError, loadConfig } from './config';
import type { JetStreamDeps, RunningConsumer } from './consumer';
import { consumeDeadLetters, type DeadLetterSubscription } from './dead-letters';
import { consumeEvents, type EventConsumerOptions } from './event-consumer';
import { type EventData, EventPublisher, makeEvent } from './events';
import { startHealthServer, within } from './health';
import { retryingSetup } from './jetstream-setup';
import { type JobRunnerOptions, JobScheduler, jobIndexes, runJobs } from './jobs';
import { createLogger, type Logger } from './logger';
import { connectMongo, ensureIndexes } from './mongo';
import { reconnectWhenStuck } from './mongo-watchdog';
import { connectNats } from './nats';
import { OutboxRelay, type PrepareEntry } from './outbox';
import { OutboxCollection, type OutboxDoc } from './outbox-collection';
import { every, type PeriodicTask, startPeriodic } from './periodic';
import { RequestIds } from './request-ids';
import { RpcClient, RpcServer } from './rpc';
import { deadLetterStreamConfig, ensureStream, ensureStreamExists, eventStreamConfig, jobStreamConfig } from './streams';
import { startTelemetry, type Telemetry } from './telemetry';

export interface ServiceOptions<C extends BaseEnv, N extends ServiceName = ServiceName> {
  name: N;
  /** The service's env schema: `baseEnv.extend({...})`. */
  envSchema?: z.ZodType<C, any>;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  indexes?: Record<string, IndexDescription[]>;
}

/**
 * The plumbing every service shares, built once at start: config, logs, telemetry, NATS
 * (RPC server and client, event publisher, consumers, delayed jobs), MongoDB with its indexes,
 * the outbox relay, health endpoints and an orderly shutdown.
 */
export class Service<C extends BaseEnv = BaseEnv, N extends ServiceName = ServiceName> {
  readonly rpc: RpcServer;
  readonly client: RpcClient;
  readonly events: EventPublisher;
  readonly outbox: OutboxRelay;
  readonly jobs: JobScheduler;
  /** Ids of resources created under an idempotency key (`RpcContext.idempotencyKey`). */
  readonly requestIds: RequestIds;
  private readonly consumers: RunningConsumer[] = [];
  private readonly periodic: { stop(): Promise<void> }[] = [];
  private health: Server | undefined;
  private ready = false;
  private readonly readinessChecks = new Map<string, () => Promise<boolean>>();
  port = 0;

  constructor(
    readonly name: N,
    readonly config: C,
    readonly log: Logger,
    readonly clock: Clock,
    readonly telemetry: Telemetry,
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly mongo: MongoClient,
    readonly db: Db,
  ) {
    this.rpc = new RpcServer(nc, name, log);
    this.client = new RpcClient(nc);
    this.events = new EventPublisher(js, name);
    this.outbox = new OutboxRelay(this.events, log);
    this.jobs = new JobScheduler(db);
    this.requestIds = new RequestIds(db);
    const instance = `${name}-${process.pid}`;
    this.rpc.add('ping', ping, async () => ({ service: name, instance }));
  }

  get jetStreamDeps(): JetStreamDeps {
    return { js: this.js, jsm: this.jsm, log: this.log, service: this.name };
  }

  /** A validated envelope for one of this service's catalogued events. */
  event<T extends EventType<N>>(tenantId: string, type: T, data: EventData<N, T>): EventEnvelope {
    return makeEvent(this.name, tenantId, type, data, this.clock);
  }

  /** A collection whose documents carry their own outbox, watched by this service's relay. */
  outboxCollection<T extends OutboxDoc>(name: string, prepare?: PrepareEntry): OutboxCollection<T> {
    const collection = this.db.collection<T>(name);
    this.outbox.watch(collection, prepare);
    return new OutboxCollection(collection, this.outbox);
  }

  /**
   * Consumes another service's events with a durable consumer (stream ensured first); all of
   * the source's events unless `filterSubjects` narrows them. The same handler also takes the
   * dead letters of this consumer that an operator retries (its redelivery subject).
   */
  async consumeEvents(
    source: ServiceName,
    options: Omit<EventConsumerOptions, 'stream' | 'filterSubjects'> & { filterSubjects?: string[] },
  ): Promise<void> {
    await ensureStreamExists(this.jsm, eventStreamConfig(source), this.config.NATS_STREAM_REPLICAS, this.log);
    const filterSubjects = options.filterSubjects ?? [eventWildcard(source)];
    this.consumers.push(await consumeEvents(this.jetStreamDeps, { ...options, filterSubjects, stream: eventStream(source) }));
    const redelivered = [redeliverySubject(this.name, options.durable)];
    this.consumers.push(await consumeEvents(this.jetStreamDeps, { ...options, filterSubjects: redelivered, stream: jobStream(this.name) }));
  }

  /** Reads every service's dead letters (the notifications service keeps the platform's inbox of them). */
  async consumeDeadLetters(subscription: DeadLetterSubscription): Promise<void> {
    // The reader of every service's dead letters keeps the stream's configuration (the others only make sure it exists).
    await ensureStream(this.jsm, deadLetterStreamConfig, this.config.NATS_STREAM_REPLICAS, this.log);
    this.consumers.push(await consumeDeadLetters(this.jetStreamDeps, subscription));
  }

  /** Runs a periodic task until the service stops. */
  every(task: PeriodicTask): void {
    this.periodic.push(startPeriodic(task, this.log));
  }

  /** Runs this service's delayed jobs of one kind. */
  async runJobs(options: Omit<JobRunnerOptions, 'clock'>): Promise<void> {
    this.consumers.push(await runJobs(this.jetStreamDeps, this.jobs, { ...options, clock: this.clock }));
  }

  /** Adds a condition of the service's own to `/readyz` (e.g. a read model caught up). */
  addReadinessCheck(name: string, probe: () => Promise<boolean>): void {
    this.readinessChecks.set(name, probe);
  }

  /** What `/readyz` reports: started, NATS and Mongo answering, and the service's own checks. */
  async readiness(): Promise<Record<string, boolean>> {
    const checks: Record<string, boolean> = {
      started: this.ready,
      nats: !this.nc.isClosed() && (await within(1000, this.nc.flush())),
      mongo: await within(1000, this.db.command({ ping: 1 })),
    };
    for (const [name, probe] of this.readinessChecks) checks[name] = await probe().catch(() => false);
    return checks;
  }

  /**
   * Starts the outbox relay and, unless the service serves HTTP itself (the gateway), the
   * health server on `PORT`; from here on `/readyz` can answer 200.
   */
  async start(options: { healthServer?: boolean } = {}): Promise<this> {
    this.outbox.start();
    this.every(every(3_600_000, 'request-ids-purge', () => this.requestIds.purge(this.clock.now())));
    if (options.healthServer !== false) {
      const { server, port } = await startHealthServer(
        this.config.PORT,
        () => this.readiness(),
        () => this.telemetry.metricsText(),
      );
      this.health = server;
      this.port = port;
    }
    this.ready = true;
    this.log.info(this.port ? { port: this.port } : {}, `${this.name} started`);
    return this;
  }

  /** Stops intake, finishes in-flight work, drains NATS, closes Mongo. */
  async stop(): Promise<void> {
    this.ready = false;
    await this.rpc.stop();
    await Promise.all(this.periodic.map((p) => p.stop()));
    await Promise.all(this.consumers.map((c) => c.stop()));
    await this.outbox.stop();
    await this.nc.drain().catch(() => {});
    await this.mongo.close();
    await new Promise((resolve) => (this.health ? this.health.close(resolve) : resolve(undefined)));
    this.log.info(`${this.name} stopped`);
  }
}

/** Connects everything a service needs and ensures its streams and indexes. */
export async function createService<C extends BaseEnv = BaseEnv, N extends ServiceName = ServiceName>(
  options: ServiceOptions<C, N>,
): Promise<Service<C, N>> {
  const config = loadConfig((options.envSchema ?? baseEnv) as z.ZodType<C, any>, options.env ?? process.env);
  const log = createLogger(options.name, config.LOG_LEVEL);
  const telemetry = startTelemetry(options.name);
  const nc = await connectNats(config.NATS_URL, options.name, log, { user: config.NATS_USER, pass: config.NATS_PASSWORD });
  const jsm = await retryingSetup('JetStream', () => jetstreamManager(nc), log);
  const js = jetstream(nc);
  const { client, db } = await connectMongo(config.MONGO_URL, config.MONGO_DB ?? options.name);
  reconnectWhenStuck(client, log);
  await Promise.all([
    ensureStream(jsm, eventStreamConfig(options.name), config.NATS_STREAM_REPLICAS, log),
    ensureStreamExists(jsm, deadLetterStreamConfig, config.NATS_STREAM_REPLICAS, log),
    ensureStream(jsm, jobStreamConfig(options.name), config.NATS_STREAM_REPLICAS, log),
    ensureIndexes(db, { ...jobIndexes, ...options.indexes }),
  ]);
  return new Service(options.name, config, log, options.clock ?? systemClock, telemetry, nc, js, jsm, client, db);
}

/**
 * The V8 settings of a service process, set as it starts (`runService`; a process that starts a
 * service otherwise, as the gateway benchmarks' server, calls it too).
 *
 * Allocation-site pretenuring off: V8 allocates objects of a site whose objects mostly outlived a
 * young-generation collection straight in the old generation, and a service's streams (a report's
 * rows, read a batch ahead) can look like that for a moment and then make old-generation garbage
 * at their full rate until the next major collection. A 100,000-row bookings report grew the
 * capacity process by 69–116 MiB in 16 runs of 21 with it (0.3–4.6 MiB in the others), and by
 * 0.6–23.2 MiB in 10 runs of 10 without it (`--trace-gc-nvp` over the report: 149–160 MB promoted
 * in the first kind of run, 5–7 MB without it).
 */
export function tuneV8(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}

/**
 * The process entry point of a service: starts it, and on SIGTERM/SIGINT stops it and exits 0 —
 * or 1 if stopping takes longer than 10 s. A configuration error exits 1 with a message naming
 * each bad variable. A crash — an exception no handler caught, a rejection nobody awaited — is
 * logged and exits 1 at once: the state it leaves is unknown, and a supervisor (Kubernetes,
 * compose, `make dev`) must see a failure to restart or report it, never a clean stop.
 */
export async function runService(start: () => Promise<{ service: Service<any, any>; stop(): Promise<void> }>): Promise<void> {
  tuneV8();
  let log: Logger | undefined;
  const crash = (kind: string) => (err: unknown) => {
    if (log) log.fatal({ err }, `${kind}: the process exits`);
    else console.error(`${kind}: the process exits`, err);
    process.exit(1);
  };
  process.on('uncaughtException', crash('uncaught exception'));
  process.on('unhandledRejection', crash('unhandled rejection'));
  let running: Awaited<ReturnType<typeof start>>;
  try {
    running = await start();
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(1);
  }
  const { service } = running;
  log = service.log;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    service.log.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), 9500).unref();
    await running.stop().catch((error) => service.log.error({ err: error }, 'shutdown failed'));
    await service.telemetry.shutdown().catch(() => {});
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
