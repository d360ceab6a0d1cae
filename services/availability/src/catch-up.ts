import { eventStream } from '@allot/contracts';
import type { BackgroundWork, RunningWork } from '@allot/kit';
import { JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import type { Availability } from './context';
import { startLiveFeed } from './live-feed';
import { rebuildFromCapacity } from './rebuild';
import type { ReadModelStore } from './store/read-model';

/** The durable consumer that writes the read model (shared by the replicas). */
export const PROJECTION_DURABLE = 'availability-read-model';

const REBUILD_RETRY_MS = 2000;

/**
 * Where the capacity stream stood when this replica started, against what the database holds:
 * everything up to the projection's ack floor, as the service records it every second (the
 * server moves a consumer's floor over messages that were purged or aged out, so only our own
 * record tells that they were never applied). `gap` when the stream no longer holds events the
 * projection never applied (retention ran out while the service was down, or it is new beside
 * an older stream).
 */
export interface StartPosition {
  /** The first event the database may not hold: this replica's cache follows the stream from here. */
  startSeq: number;
  lastSeq: number;
  gap: boolean;
}

const notFound = (error: unknown) => error instanceof JetStreamApiError && error.status === 404;

/** Read before the projection's consumer runs, so nothing falls between the two. */
export async function startPosition(jsm: JetStreamManager, store: ReadModelStore): Promise<StartPosition> {
  const stream = eventStream('capacity');
  const state = await jsm.streams.info(stream).then(
    (info) => info.state,
    (error) => {
      if (notFound(error)) return { first_seq: 1, last_seq: 0 };
      throw error;
    },
  );
  const applied = (await store.appliedThrough()) ?? (await ackFloor(jsm)) ?? 0;
  const first = Math.max(1, state.first_seq);
  return { startSeq: Math.max(applied + 1, first), lastSeq: state.last_seq, gap: first > applied + 1 };
}

/** The projection's ack floor; undefined before its consumer exists. */
async function ackFloor(jsm: JetStreamManager): Promise<number | undefined> {
  try {
    return (await jsm.consumers.info(eventStream('capacity'), PROJECTION_DURABLE)).ack_floor.stream_seq;
  } catch (error) {
    if (notFound(error)) return undefined;
    throw error;
  }
}

/** Records how far the projection has applied the stream (see `StartPosition`). */
export async function recordProgress(av: Pick<Availability, 'jetStream' | 'store'>): Promise<void> {
  const floor = await ackFloor(av.jetStream.jsm);
  if (floor !== undefined) await av.store.recordAppliedThrough(floor);
}

/**
 * The replica's catch-up, as background work: starts its live feed, rebuilds from the capacity
 * service if the stream has a gap (retrying until capacity answers), and holds `/readyz` (as
 * `caughtUp`) until the feed and the projection have applied everything the stream held at start.
 */
export function catchUp(av: Availability): BackgroundWork {
  return { name: 'caughtUp', start: () => startCatchUp(av) };
}

async function startCatchUp(av: Availability): Promise<RunningWork> {
  const { log, position, jetStream } = av;
  const feed = await startLiveFeed(jetStream.js, log, av.cache, { startSeq: position.startSeq, lastSeqAtStart: position.lastSeq });
  let rebuilt = !position.gap;
  let stopped = false;
  const rebuilding = (async () => {
    while (!rebuilt && !stopped) {
      try {
        await rebuildFromCapacity(av, {}, { bookings: true });
        rebuilt = true;
        log.info('read model rebuilt from the capacity service after a gap in its events');
      } catch (error) {
        log.warn({ err: error }, 'rebuild from the capacity service failed; will retry');
        await new Promise((resolve) => setTimeout(resolve, REBUILD_RETRY_MS));
      }
    }
  })();
  let projected = position.lastSeq === 0;
  return {
    async ready() {
      projected ||= ((await ackFloor(jetStream.jsm)) ?? 0) >= position.lastSeq;
      return rebuilt && projected && feed.caughtUp();
    },
    async stop() {
      stopped = true;
      await rebuilding;
      await feed.stop();
      await recordProgress(av).catch((error) => log.warn({ err: error }, 'could not record progress'));
    },
  };
}
