import { eventStream } from '@allot/contracts';
import { JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import type { Availability } from './context';
import { startLiveFeed } from './live-feed';
import { rebuildFromCapacity } from './rebuild';

/** The durable consumer that writes the read model (shared by the replicas). */
export const PROJECTION_DURABLE = 'availability-read-model';

const REBUILD_RETRY_MS = 2000;

/**
 * Where the capacity stream stood when this replica started, against what the database holds:
 * the projection's durable consumer has applied everything up to its ack floor. `gap` when the
 * stream no longer holds events the projection never applied (retention ran out while the
 * service was down, or it is new beside an older stream).
 */
export interface StartPosition {
  /** The first event the database may not hold: this replica's cache follows the stream from here. */
  startSeq: number;
  lastSeq: number;
  gap: boolean;
}

const notFound = (error: unknown) => error instanceof JetStreamApiError && error.status === 404;

/** Read before the projection's consumer exists or moves on, so nothing falls between the two. */
export async function startPosition(jsm: JetStreamManager): Promise<StartPosition> {
  const stream = eventStream('capacity');
  const state = await jsm.streams.info(stream).then(
    (info) => info.state,
    (error) => {
      if (notFound(error)) return { first_seq: 1, last_seq: 0 };
      throw error;
    },
  );
  const applied = await jsm.consumers.info(stream, PROJECTION_DURABLE).then(
    (info) => info.ack_floor.stream_seq,
    (error) => {
      if (notFound(error)) return 0;
      throw error;
    },
  );
  const first = Math.max(1, state.first_seq);
  return { startSeq: Math.max(applied + 1, first), lastSeq: state.last_seq, gap: first > applied + 1 };
}

/**
 * Starts this replica's live feed, rebuilds from the capacity service if the stream has a gap
 * (retrying until capacity answers), and reports ready only once the feed and the projection
 * have applied everything the stream held at start.
 */
export async function catchUp(av: Availability) {
  const { service, position } = av;
  const feed = await startLiveFeed(service.js, service.log, av.cache, { startSeq: position.startSeq, lastSeqAtStart: position.lastSeq });
  let rebuilt = !position.gap;
  let stopped = false;
  const rebuilding = (async () => {
    while (!rebuilt && !stopped) {
      try {
        await rebuildFromCapacity(service, av.projection, {}, { bookings: true });
        rebuilt = true;
        service.log.info('read model rebuilt from the capacity service after a gap in its events');
      } catch (error) {
        service.log.warn({ err: error }, 'rebuild from the capacity service failed; will retry');
        await new Promise((resolve) => setTimeout(resolve, REBUILD_RETRY_MS));
      }
    }
  })();
  let projected = position.lastSeq === 0;
  service.addReadinessCheck('caughtUp', async () => {
    if (!projected) {
      const info = await service.jsm.consumers.info(eventStream('capacity'), PROJECTION_DURABLE);
      projected = info.ack_floor.stream_seq >= position.lastSeq;
    }
    return rebuilt && projected && feed.caughtUp();
  });
  return {
    async close() {
      stopped = true;
      await rebuilding;
      await feed.stop();
    },
  };
}
