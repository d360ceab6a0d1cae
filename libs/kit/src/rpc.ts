import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Actor,
  AppError,
  type RpcContract,
  type RpcReply,
  RpcReply as RpcReplySchema,
  RpcRequest,
  rpcSubject,
  type ServiceName,
  validationError,
} from '@allot/contracts';
import { errors, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Context } from '@opentelemetry/api';
import type { z } from 'zod';
import { databaseUnreachable, unreachableDatabase } from './database-errors';
import type { Logger } from './logger';
import { instruments } from './telemetry';
import { contextFromTraceparent, inDetachedSpan, inSpan, SpanKind, traceparentOf } from './trace';

const deadlines = new AsyncLocalStorage<number | undefined>();

/**
 * Throws `upstream_unavailable` if the RPC being handled is past its caller's deadline. Call it
 * right before an irreversible write that may have waited (e.g. behind other writes of a hot
 * record): the caller has already answered its client 503, so the write must not happen.
 */
/**
 * Runs `fn` under `deadline` (epoch ms), or under none: work that outlives the request that
 * started it — a job, a ledger tick — must not inherit that request's deadline through the
 * async context its timers and promises were created in.
 */
export function withDeadline<T>(deadline: number | undefined, fn: () => T): T {
  return deadlines.run(deadline, fn);
}

export function assertBeforeDeadline(): void {
  const deadline = deadlines.getStore();
  if (deadline !== undefined && Date.now() > deadline) {
    throw new AppError('upstream_unavailable', 'The request reached its deadline before it could be applied');
  }
}
/** JSON as UTF-8 bytes: a small one is a view of Node's shared pool, where `TextEncoder` allocates a buffer for each. */
const encode = (value: unknown) => Buffer.from(JSON.stringify(value));

/** NATS's default `max_payload`, for a connection whose server has not told its own yet. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * What an RPC handler knows about its call besides the input. A tenant-scoped operation is
 * only ever called inside a tenant, so its handler gets `tenantId: string`.
 */
export interface RpcContext<C extends RpcContract = RpcContract> {
  tenantId: C['tenant'] extends 'required' ? string : string | null;
  actor: Actor;
  /** The request's idempotency key (see `RpcRequest`), if the client sent one. */
  idempotencyKey?: string;
  log: Logger;
}

export type RpcHandler<C extends RpcContract> = (input: z.output<C['input']>, ctx: RpcContext<C>) => Promise<z.input<C['output']>>;

/**
 * Serves `rpc.<service>.<operation>` in queue group `<service>`, so replicas share the load.
 * Requests are validated against the contract (a bad one gets `validation_failed` naming the
 * fields), replies are validated too, and domain errors travel as typed error replies.
 */
export class RpcServer {
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly service: ServiceName,
    private readonly log: Logger,
  ) {}

  add<C extends RpcContract>(operation: string, contract: C, handler: RpcHandler<C>): this {
    const subject = rpcSubject(this.service, operation);
    const sub = this.nc.subscribe(subject, {
      queue: this.service,
      callback: (error, msg) => {
        if (error) return this.log.error({ err: error, subject }, 'rpc subscription failed');
        // Nothing a request does may escape as an unhandled rejection: that would end the process.
        const done = this.handle(subject, contract, handler, msg)
          .catch((err) => this.log.error({ err, subject }, 'rpc request failed'))
          .finally(() => this.inFlight.delete(done));
        this.inFlight.add(done);
      },
    });
    this.subscriptions.push(sub);
    return this;
  }

  private async handle<C extends RpcContract>(subject: string, contract: C, handler: RpcHandler<C>, msg: Msg) {
    const started = performance.now();
    let body: unknown;
    try {
      body = msg.json();
    } catch {
      body = undefined; // answered as malformed by `invoke`, in the span
    }
    // Read before validation, so that a malformed request is traced and bounded like any other.
    const { deadline, traceparent } = (body ?? {}) as { deadline?: unknown; traceparent?: unknown };
    const parent = contextFromTraceparent(typeof traceparent === 'string' ? traceparent : null);
    const reply = await withDeadline(typeof deadline === 'number' ? deadline : undefined, () =>
      inSpan(`${subject} process`, { kind: SpanKind.SERVER, parent }, () => this.invoke(subject, contract, handler, body)),
    );
    const answer = this.bounded(subject, reply);
    instruments().rpcDuration.record((performance.now() - started) / 1000, {
      operation: subject,
      result: answer.reply.ok ? 'ok' : answer.reply.error.code,
    });
    if (!msg.reply) return;
    try {
      msg.respond(answer.bytes);
    } catch (err) {
      this.log.error({ err, subject }, 'rpc answer could not be sent');
    }
  }

  /**
   * The reply as it will travel, or `answer_too_large` in its place if it would not fit in one
   * message of this connection: NATS refuses such a message, and the caller would only wait for
   * its deadline.
   */
  private bounded(subject: string, reply: RpcReply): { reply: RpcReply; bytes: Uint8Array } {
    const maxBytes = this.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
    let bytes: Uint8Array;
    try {
      bytes = encode(reply);
    } catch (err) {
      this.log.error({ err, subject }, 'rpc answer could not be encoded');
      const failed: RpcReply = { ok: false, error: { code: 'internal', message: 'internal error' } };
      return { reply: failed, bytes: encode(failed) };
    }
    if (bytes.length <= maxBytes) return { reply, bytes };
    this.log.error({ subject, bytes: bytes.length, maxBytes }, 'rpc answer too large');
    const refused: RpcReply = {
      ok: false,
      error: {
        code: 'answer_too_large',
        message: `The answer would take ${bytes.length} bytes, more than the ${maxBytes} one answer may carry: ask for less (a smaller limit or a shorter range)`,
        details: { maxBytes },
      },
    };
    return { reply: refused, bytes: encode(refused) };
  }

  private async invoke<C extends RpcContract>(subject: string, contract: C, handler: RpcHandler<C>, body: unknown): Promise<RpcReply> {
    let request: RpcRequest;
    try {
      request = RpcRequest.parse(body);
    } catch {
      return { ok: false, error: { code: 'validation_failed', message: 'malformed RPC request' } };
    }
    const log = this.log.child({ tenantId: request.tenantId, rpc: subject });
    try {
      if (contract.tenant === 'required' && !request.tenantId) {
        throw new AppError('forbidden', 'This operation needs a tenant credential');
      }
      const input = contract.input.safeParse(request.input);
      if (!input.success) throw validationError(input.error);
      const ctx = { tenantId: request.tenantId, actor: request.actor, idempotencyKey: request.idempotencyKey, log } as RpcContext<C>;
      const output = await handler(input.data as z.output<C['input']>, ctx);
      return { ok: true, data: contract.output.parse(output) };
    } catch (error) {
      if (error instanceof AppError) return { ok: false, error: error.toBody() };
      if (databaseUnreachable(error)) {
        log.warn({ err: error }, 'rpc handler could not reach its database');
        return { ok: false, error: unreachableDatabase().toBody() };
      }
      log.error({ err: error }, 'rpc handler failed');
      return { ok: false, error: { code: 'internal', message: 'internal error' } };
    }
  }

  /** Stops taking requests and waits for those in flight to be answered. */
  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((sub) => sub.drain().catch(() => {})));
    await Promise.allSettled([...this.inFlight]);
  }
}

export interface CallOptions {
  tenantId: string | null;
  actor: Actor;
  idempotencyKey?: string;
  timeoutMs?: number;
  /** The trace the call belongs to, when the caller does not make it active (default: the active one). */
  traceContext?: Context;
}

/**
 * Calls another service. No responders and the deadline both become `upstream_unavailable`
 * (the former at once, since NATS answers "no responders" without waiting); an error reply is
 * rethrown as the same `AppError` the service raised.
 */
export class RpcClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly defaultTimeoutMs = 5000,
  ) {}

  async call<C extends RpcContract>(
    service: ServiceName,
    operation: string,
    contract: C,
    input: z.input<C['input']>,
    options: CallOptions,
  ): Promise<z.output<C['output']>> {
    const subject = rpcSubject(service, operation);
    return inDetachedSpan(`${subject} request`, { kind: SpanKind.CLIENT, parent: options.traceContext }, async (spanContext) => {
      const timeout = options.timeoutMs ?? this.defaultTimeoutMs;
      // The deadline and trace travel in the body: NATS headers cost both sides more to encode and parse.
      const request: RpcRequest = {
        tenantId: options.tenantId,
        actor: options.actor,
        idempotencyKey: options.idempotencyKey,
        input,
        deadline: Date.now() + timeout,
        traceparent: traceparentOf(spanContext) ?? undefined,
      };
      const body = encode(request);
      const maxBytes = this.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
      // NATS would refuse it: the input is at fault, not the service, and retrying cannot help.
      if (body.length > maxBytes) throw tooLargeToSend(body.length, maxBytes);
      let msg: Msg;
      try {
        msg = await this.nc.request(subject, body, { timeout });
      } catch (error) {
        throw unavailable(service, error);
      }
      const reply = RpcReplySchema.parse(msg.json());
      if (!reply.ok) throw AppError.from(reply.error);
      return contract.output.parse(reply.data) as z.output<C['output']>;
    });
  }
}

function tooLargeToSend(bytes: number, maxBytes: number): AppError {
  const message = `the request takes ${bytes} bytes once encoded; at most ${maxBytes} can be passed on`;
  return new AppError('validation_failed', `Invalid request: ${message}`, { errors: [{ path: '(body)', message }] });
}

function unavailable(service: string, error: unknown): AppError {
  const timedOut = error instanceof errors.TimeoutError || (error as Error).cause instanceof errors.TimeoutError;
  const reason = timedOut ? 'did not answer in time' : 'is not available';
  return new AppError('upstream_unavailable', `The ${service} service ${reason}`);
}
