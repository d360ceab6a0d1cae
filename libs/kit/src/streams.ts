import {
  deadLetterStream,
  deadLetterWildcard,
  eventStream,
  eventWildcard,
  jobStream,
  jobWildcard,
  type ServiceName,
} from '@allot/contracts';
import {
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { retryingSetup } from './jetstream-setup';
import type { Logger } from './logger';

const DAY = 24 * 60 * 60 * 1000;

/**
 * Creates the stream, or brings an existing one to this config; safe for replicas racing.
 * `replicas` is the service's NATS_STREAM_REPLICAS. Tried again while JetStream cannot answer
 * yet (a cluster electing its leaders): `retryingSetup`.
 */
export function ensureStream(
  jsm: JetStreamManager,
  stream: Partial<StreamConfig> & { name: string },
  replicas = 1,
  log?: Logger,
): Promise<void> {
  return retryingSetup(`stream ${stream.name}`, () => createOrUpdate(jsm, stream, replicas), log);
}

async function createOrUpdate(jsm: JetStreamManager, stream: Partial<StreamConfig> & { name: string }, replicas: number): Promise<void> {
  const config = { ...stream, num_replicas: replicas };
  try {
    await jsm.streams.info(config.name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.status !== 404) throw error;
    try {
      await jsm.streams.add(config);
      return;
    } catch (addError) {
      // Another replica created it between our look and our add: fall through to update.
      if (!(addError instanceof JetStreamApiError)) throw addError;
    }
  }
  await jsm.streams.update(config.name, config);
}

/**
 * Makes sure a stream another service owns exists (creating it as its owner would, if this
 * service starts first), and never changes it: its NATS user may not update another's stream.
 * Tried again like `ensureStream`.
 */
export function ensureStreamExists(
  jsm: JetStreamManager,
  stream: Partial<StreamConfig> & { name: string },
  replicas = 1,
  log?: Logger,
): Promise<void> {
  return retryingSetup(`stream ${stream.name}`, () => createIfMissing(jsm, stream, replicas), log);
}

async function createIfMissing(jsm: JetStreamManager, stream: Partial<StreamConfig> & { name: string }, replicas: number): Promise<void> {
  try {
    await jsm.streams.info(stream.name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.status !== 404) throw error;
    try {
      await jsm.streams.add({ ...stream, num_replicas: replicas });
    } catch (addError) {
      // Its owner (or another replica) created it meanwhile: there it is.
      if (!(addError instanceof JetStreamApiError)) throw addError;
    }
  }
}

/**
 * A service's public event stream (docs/events.md): `evt.<service>.>`, kept 7 days, and a duplicate
 * window long enough that an outbox relay re-publishing after a restart is dropped.
 */
export function eventStreamConfig(service: ServiceName): Partial<StreamConfig> & { name: string } {
  return {
    name: eventStream(service),
    subjects: [eventWildcard(service)],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(7 * DAY),
    duplicate_window: nanos(5 * 60 * 1000),
    discard: DiscardPolicy.Old,
  };
}

/** Messages that exhausted their deliveries, kept 30 days for inspection and retry. */
export const deadLetterStreamConfig: Partial<StreamConfig> & { name: string } = {
  name: deadLetterStream,
  subjects: [deadLetterWildcard],
  retention: RetentionPolicy.Limits,
  storage: StorageType.File,
  max_age: nanos(30 * DAY),
  duplicate_window: nanos(5 * 60 * 1000),
};

/** A service's durable delayed jobs: each removed once acknowledged. */
export function jobStreamConfig(service: string): Partial<StreamConfig> & { name: string } {
  return {
    name: jobStream(service),
    subjects: [jobWildcard(service)],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(5 * 60 * 1000),
  };
}
