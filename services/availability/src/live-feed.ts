import { EventEnvelope, eventOfEveryTenant, eventStream, eventWildcard, parseCatalogEvent } from '@allot/contracts';
import type { Logger } from '@allot/kit';
import { DeliverPolicy, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import type { ReadModelCache } from './cache';
import { factsOf, slotFact } from './domain/facts';

export interface LiveFeed {
  /** True once every capacity event stored when the feed started has been applied. */
  caughtUp(): boolean;
  stop(): Promise<void>;
}

/**
 * Reads a stream with an ordered consumer: this replica's own, ephemeral, nothing acknowledged
 * (every replica reads every message, unlike a queue group or a shared durable consumer).
 */
async function follow(
  js: JetStreamClient,
  log: Logger,
  stream: string,
  filter: string,
  from: { startSeq: number } | 'new',
  onMessage: (msg: JsMsg) => void,
) {
  const position =
    from === 'new'
      ? { deliver_policy: DeliverPolicy.New }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, from.startSeq) };
  // One filter, not a list: the consumer is then created on a subject naming it and its filter,
  // which is what this service's NATS user may create (see natsRights in @allot/contracts).
  const consumer = await js.consumers.get(stream, { filter_subjects: filter, ...position });
  const messages = await consumer.consume();
  const loop = (async () => {
    for await (const msg of messages) {
      try {
        onMessage(msg);
      } catch (error) {
        log.warn({ err: error, subject: msg.subject }, 'live feed skipped an event it could not read');
      }
    }
  })();
  return {
    async stop() {
      messages.stop();
      await loop.catch(() => {});
    },
  };
}

/**
 * Keeps this replica's cache fresh: every capacity event from `startSeq` on (everything after
 * what the database is known to hold), and the `availability.updated` announcements of rebuilds
 * and refreshes that other replicas made.
 */
export async function startLiveFeed(
  js: JetStreamClient,
  log: Logger,
  cache: ReadModelCache,
  options: { startSeq: number; lastSeqAtStart: number },
): Promise<LiveFeed> {
  let applied = options.startSeq - 1;
  const capacity = await follow(js, log, eventStream('capacity'), eventWildcard('capacity'), { startSeq: options.startSeq }, (msg) => {
    applied = msg.info.streamSequence;
    const event = parseCatalogEvent('capacity', EventEnvelope.parse(msg.json()));
    if (!event) return;
    const facts = factsOf(event);
    for (const session of facts.sessions) cache.applySession(session);
    for (const slot of facts.slots) cache.applySlot(slot);
  });
  const announced = await follow(
    js,
    log,
    eventStream('availability'),
    eventOfEveryTenant('availability', 'availability.updated'),
    'new',
    (msg) => {
      const event = parseCatalogEvent('availability', EventEnvelope.parse(msg.json()));
      if (event?.type !== 'availability.updated') return;
      const { isAvailable: _derived, ...slots } = event.data;
      cache.applySlot(slotFact(event.tenantId, slots, event.occurredAt));
    },
  );
  return {
    caughtUp: () => applied >= options.lastSeqAtStart,
    async stop() {
      await Promise.all([capacity.stop(), announced.stop()]);
    },
  };
}
