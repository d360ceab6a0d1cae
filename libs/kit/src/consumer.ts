import { deadLetterSubject } from '@allot/contracts';
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { retryingSetup } from './jetstream-setup';
import type { Logger } from './logger';
import { withDeadline } from './rpc';
import { instruments } from './telemetry';

export interface JetStreamDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  log: Logger;
  /** The consuming service: names its dead letters `dlq.<service>.<durable>`. */
  service: string;
}

export interface ConsumerSpec {
  stream: string;
  durable: string;
  filterSubjects: string[];
  /** Server-side redelivery bound; -1 where the runner counts attempts itself (it dead-letters). */
  maxDeliver: number;
  ackWaitMs?: number;
  /** Messages handled at once by this process. */
  concurrency?: number;
  /**
   * Messages asked for at once (default `concurrency`). More than `concurrency` keeps the next
   * ones in hand; each starts its ack wait on arrival, so it suits short handlers (events), not
   * long jobs that other replicas could be running meanwhile.
   */
  prefetch?: number;
  /** Where a new durable starts: every stored message (default) or only new ones. */
  deliverPolicy?: DeliverPolicy;
}

export interface RunningConsumer {
  /** Stops fetching, finishes the messages in hand, and resolves when they are settled. */
  stop(): Promise<void>;
}

const defaultAckWaitMs = 30_000;

/** Creates the durable consumer or updates it to this spec; idempotent across replicas. */
async function ensureConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: spec.deliverPolicy ?? DeliverPolicy.All,
    filter_subjects: spec.filterSubjects,
    max_deliver: spec.maxDeliver,
    ack_wait: nanos(spec.ackWaitMs ?? defaultAckWaitMs),
    max_ack_pending: 1000,
  };
  try {
    await jsm.consumers.add(spec.stream, config);
  } catch (error) {
    if (!(error instanceof JetStreamApiError)) throw error;
    // Exists with another config (e.g. after a deploy): bring it up to date.
    const { deliver_policy: _fixed, ...updatable } = config;
    await jsm.consumers.update(spec.stream, spec.durable, updatable);
  }
}

/** What an event consumer asks for at once: twice what it handles, at least 32 (see `consume`). */
export const eventPrefetch = (concurrency: number): number => Math.max(2 * concurrency, 32);

/**
 * Pulls from a durable consumer and runs `onMessage` for each message with bounded
 * concurrency. `onMessage` settles the message itself (ack, nak, term). Each message is handled
 * under a deadline of its own, its ack wait (after which the server delivers it again), never
 * one of whatever request happened to start the consumer.
 *
 * `onMessage` is called in delivery order, synchronously as each message is taken: whatever a
 * handler sends before its first `await` goes out in delivery order, even with many in flight.
 *
 * With `prefetch` above `concurrency` it asks for more messages than it handles at once, and
 * asks again when a quarter of those are taken: the next message is already here when a handler
 * finishes, instead of a pull request's round trip away (taking one at a time, every message
 * waited for one). The server sends what it has at once; nothing waits for a batch to fill. Acks
 * are sent without waiting for the server's reply, so they never hold up the next delivery.
 */
export async function consume(deps: JetStreamDeps, spec: ConsumerSpec, onMessage: (msg: JsMsg) => Promise<void>): Promise<RunningConsumer> {
  // Both steps are tried again while JetStream cannot answer yet (a cluster electing its leaders).
  const what = `consumer ${spec.stream}/${spec.durable}`;
  await retryingSetup(what, () => ensureConsumer(deps.jsm, spec), deps.log);
  const concurrency = spec.concurrency ?? 16;
  const ackWaitMs = spec.ackWaitMs ?? defaultAckWaitMs;
  const consumer = await retryingSetup(what, () => deps.js.consumers.get(spec.stream, spec.durable), deps.log);
  const messages = await consumer.consume({ max_messages: Math.max(spec.prefetch ?? concurrency, concurrency) });
  const inFlight = new Set<Promise<void>>();
  // Woken when a handler ends: one waiter, not a race over every handler in flight (which
  // would add a reaction to each of up to `concurrency` promises for every message).
  let slotFreed: (() => void) | undefined;

  const loop = (async () => {
    for await (const msg of messages) {
      while (inFlight.size >= concurrency) await new Promise<void>((resolve) => (slotFreed = resolve));
      const done = withDeadline(Date.now() + ackWaitMs, () => onMessage(msg))
        .catch((error) => deps.log.error({ err: error, subject: msg.subject }, 'message handler crashed'))
        .finally(() => {
          inFlight.delete(done);
          const wake = slotFreed;
          slotFreed = undefined;
          wake?.();
        });
      inFlight.add(done);
    }
  })();

  return {
    async stop() {
      messages.stop();
      await loop.catch(() => {});
      await Promise.allSettled([...inFlight]);
    },
  };
}

export interface DeadLetter {
  /** The same for every failure of one message in one consumer, retried or not. */
  id: string;
  /** The tenant the message belongs to (the envelope's, or a job payload's); null if it has none. */
  tenantId: string | null;
  service: string;
  consumer: string;
  stream: string;
  streamSeq: number;
  subject: string;
  deliveries: number;
  error: string;
  failedAt: string;
  /** The original payload as text, and its headers, so a retry can re-publish it as it was. */
  data: string;
  headers: Record<string, string>;
}

/** Headers of a re-delivered dead letter naming the message it was, so its next failure keeps that identity. */
export const redeliveredFrom = { subject: 'Allot-Dlq-Subject', stream: 'Allot-Dlq-Stream', seq: 'Allot-Dlq-Seq' } as const;
const ownHeaders = new Set<string>(Object.values(redeliveredFrom));

/** How long a message whose dead letter could not be written waits before it comes back. */
const deadLetterRetryMs = 5000;

export function tenantOf(body: unknown): string | null {
  const record = body as { tenantId?: unknown; payload?: { tenantId?: unknown } } | undefined;
  const tenantId = record?.tenantId ?? record?.payload?.tenantId;
  return typeof tenantId === 'string' ? tenantId : null;
}

/**
 * Records a message that exhausted its deliveries on the dead-letter stream, then terminates
 * it. If the record cannot be written the message is delivered again later (its consumer has
 * no server-side bound): a message is never dropped without its dead letter.
 */
export async function deadLetter(deps: JetStreamDeps, durable: string, msg: JsMsg, error: string): Promise<void> {
  const headers: Record<string, string> = {};
  for (const key of msg.headers?.keys() ?? []) if (!ownHeaders.has(key)) headers[key] = msg.headers?.get(key) ?? '';
  const from = (name: string) => msg.headers?.get(name) || undefined;
  const stream = from(redeliveredFrom.stream) ?? msg.info.stream;
  const streamSeq = Number(from(redeliveredFrom.seq) ?? msg.info.streamSequence);
  try {
    await publishDeadLetter(
      deps,
      durable,
      {
        id: `${stream}-${streamSeq}-${durable}`,
        tenantId: tenantOf(jsonOf(msg)),
        stream,
        streamSeq,
        subject: from(redeliveredFrom.subject) ?? msg.subject,
        deliveries: msg.info.deliveryCount,
        error,
        data: msg.string(),
        headers,
      },
      // Deduplicated per delivery, not per record: a retried message that fails again is recorded again.
      `dlq-${msg.info.stream}-${msg.info.streamSequence}-${durable}`,
    );
  } catch (publishError) {
    deps.log.error({ err: publishError, subject: msg.subject, consumer: durable }, 'dead letter not written; the message comes back');
    msg.nak(deadLetterRetryMs);
    return;
  }
  msg.term(error.slice(0, 200));
}

/** Writes a dead letter of this service's consumer `durable`; `msgID` dedupes a repeated write. */
export async function publishDeadLetter(
  deps: JetStreamDeps,
  durable: string,
  letter: Omit<DeadLetter, 'service' | 'consumer' | 'failedAt'>,
  msgID = `dlq-${letter.id}`,
): Promise<void> {
  const record: DeadLetter = { ...letter, service: deps.service, consumer: durable, failedAt: new Date().toISOString() };
  await deps.js.publish(deadLetterSubject(deps.service, durable), JSON.stringify(record), { msgID });
  instruments().deadLetters.add(1, { consumer: durable });
  deps.log.error(
    { subject: record.subject, consumer: durable, deliveries: record.deliveries, error: record.error },
    'message dead-lettered',
  );
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The message's JSON body, or undefined if it is not JSON (the caller treats it as poison). */
export function jsonOf(msg: JsMsg): unknown {
  try {
    return msg.json();
  } catch {
    return undefined;
  }
}
