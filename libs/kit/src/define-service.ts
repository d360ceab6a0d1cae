import type { RpcContract, ServiceName } from '@allot/contracts';
import type { IndexDescription } from 'mongodb';
import type { z } from 'zod';
import type { BackgroundWork, RunningWork } from './background';
import type { Clock } from './clock';
import { type BaseEnv, baseEnv } from './config';
import type { DeadLetterSubscription } from './dead-letters';
import type { EventConsumerOptions } from './event-consumer';
import type { JobDefinition } from './jobs';
import type { PeriodicTask } from './periodic';
import type { RpcHandler } from './rpc';
import { createService, runService, type Service } from './service';

/** A service's RPC operations: name → contract (e.g. `capacityRpc` from the contracts). */
export type Operations = Record<string, RpcContract>;

/** One handler for each operation of `R`: a missing, extra or mistyped handler does not compile. */
export type Handlers<R extends Operations> = { [K in keyof R]: RpcHandler<R[K]> };

/** A durable consumer of another service's events (all of them unless `filterSubjects` narrows). */
export type EventSubscription = Omit<EventConsumerOptions, 'stream' | 'filterSubjects'> & {
  source: ServiceName;
  filterSubjects?: string[];
};

/**
 * Everything a service is, declared once: the kit connects it, ensures its streams and indexes,
 * builds its context (the composition root: the one place its parts are made), wires its
 * handlers, consumers, jobs, periodic tasks and background work, serves health and metrics, and
 * stops it all in order. Every hook but `context` receives the context, never the service.
 */
export interface ServiceDefinition<N extends ServiceName, E extends BaseEnv, X, S extends Served, R extends Operations> {
  name: N;
  /** The environment schema (`baseEnv.extend({...})`); validated at start. */
  env?: z.ZodType<E, any>;
  indexes?: Record<string, IndexDescription[]>;
  /** The operations it serves on `rpc.<name>.<operation>` (besides the kit's `ping`). */
  rpc?: R;
  /** Builds what the handlers share (stores, caches) once NATS and MongoDB are connected. */
  context(service: Service<E, N>): X | Promise<X>;
  handlers?(ctx: X): Handlers<R>;
  consumers?(ctx: X): EventSubscription[];
  /** A reader of every service's dead letters (only the service that keeps the platform's inbox has one). */
  deadLetters?(ctx: X): DeadLetterSubscription;
  /** Delayed work: each kind's handler (`defineJob(…).handle(…)`), scheduled with `service.jobs.schedule(type, …)`. */
  jobs?(ctx: X): JobDefinition[];
  tasks?(ctx: X): PeriodicTask[];
  /** Long-running work of its own (availability's catch-up), started before `serve`, stopped after it. */
  background?(ctx: X): BackgroundWork[];
  /** Only listens: starts what the service serves besides RPC (the gateway's HTTP servers); closed first on stop. */
  serve?(ctx: X): Promise<S>;
  /** Serve `/healthz`, `/readyz` and `/metrics` on `PORT` (default true; the gateway serves its own). */
  healthServer?: boolean;
}

export interface Served {
  close(): Promise<void>;
}

export interface RunningService<N extends ServiceName, E extends BaseEnv, X, S extends Served> {
  service: Service<E, N>;
  context: X;
  /** What `serve` started, if the definition has one. */
  served: S | undefined;
  /** The health server's port (0 without one). */
  port: number;
  /** Stops intake, finishes in-flight work, drains NATS and closes MongoDB. */
  stop(): Promise<void>;
}

export interface DefinedService<N extends ServiceName, E extends BaseEnv, X, S extends Served, R extends Operations> {
  readonly definition: ServiceDefinition<N, E, X, S, R>;
  /** Starts the service with this environment (tests pass their own; `clock` replaces the system's). */
  start(env?: NodeJS.ProcessEnv, options?: { clock?: Clock }): Promise<RunningService<N, E, X, S>>;
  /** The process entry point (`main.ts`): starts from `process.env` and stops on SIGTERM/SIGINT. */
  run(): Promise<void>;
}

export function defineService<
  N extends ServiceName,
  E extends BaseEnv,
  X,
  S extends Served = Served,
  R extends Operations = Record<never, never>,
>(definition: ServiceDefinition<N, E, X, S, R>): DefinedService<N, E, X, S, R> {
  async function start(env: NodeJS.ProcessEnv = process.env, options: { clock?: Clock } = {}): Promise<RunningService<N, E, X, S>> {
    const service = await createService<E, N>({
      name: definition.name,
      envSchema: definition.env ?? (baseEnv as unknown as z.ZodType<E, any>),
      env,
      clock: options.clock,
      indexes: definition.indexes,
    });
    let served: S | undefined;
    const working: RunningWork[] = [];
    // Stopped in the reverse of the order they started.
    const stopWork = async () => {
      for (const work of working.splice(0).reverse()) await work.stop();
    };
    try {
      const context = await definition.context(service);
      const handlers = (definition.handlers?.(context) ?? {}) as Record<string, RpcHandler<RpcContract>>;
      for (const [operation, contract] of Object.entries(definition.rpc ?? {})) {
        const handler = handlers[operation];
        if (!handler) throw new Error(`${definition.name} has no handler for ${operation}`);
        service.rpc.add(operation, contract, handler);
      }
      for (const { source, ...options } of definition.consumers?.(context) ?? []) await service.consumeEvents(source, options);
      const deadLetters = definition.deadLetters?.(context);
      if (deadLetters) await service.consumeDeadLetters(deadLetters);
      for (const { kind, options, run } of definition.jobs?.(context) ?? []) await service.runJobs({ ...options, kind, handler: run });
      for (const task of definition.tasks?.(context) ?? []) service.every(task);
      for (const work of definition.background?.(context) ?? []) {
        const running = await work.start();
        working.push(running);
        if (running.ready) service.addReadinessCheck(work.name, running.ready);
      }
      served = await definition.serve?.(context);
      await service.start({ healthServer: definition.healthServer });
      return {
        service,
        context,
        served,
        port: service.port,
        async stop() {
          await served?.close();
          await stopWork();
          await service.stop();
        },
      };
    } catch (error) {
      await served?.close().catch(() => {});
      await stopWork().catch(() => {});
      await service.stop().catch(() => {});
      throw error;
    }
  }
  return { definition, start, run: () => runService(() => start()) };
}
