import type { Clock, Logger, Service } from '@allot/kit';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { ReadModelCache } from './cache';
import { type StartPosition, startPosition } from './catch-up';
import type { AvailabilityConfig } from './config';
import { type Announcer, Projection } from './projection';
import { type CapacityReadModel, capacityReadModel } from './rebuild';
import { ReadModelStore } from './store/read-model';

/** What the availability handlers, the projection, its tasks and the catch-up work with. */
export interface Availability {
  clock: Clock;
  log: Logger;
  store: ReadModelStore;
  cache: ReadModelCache;
  projection: Projection;
  /** The capacity service's stored state, read to rebuild from. */
  capacity: CapacityReadModel;
  /** Where the capacity stream stood when this replica started. */
  position: StartPosition;
  /** The capacity stream, which the catch-up follows and whose projection's progress is recorded. */
  jetStream: { js: JetStreamClient; jsm: JetStreamManager };
}

/** The composition root. The start position is read first, before the projection's consumer runs. */
export async function availabilityContext(service: Service<AvailabilityConfig, 'availability'>): Promise<Availability> {
  const store = new ReadModelStore(service.db);
  const position = await startPosition(service.jsm, store);
  const cache = new ReadModelCache(store, service.config.AVAILABILITY_CACHE_SLOTS);
  const announcer: Announcer = {
    event: (tenantId, type, data) => service.event(tenantId, type, data),
    publish: (envelope) => service.events.publish(envelope),
  };
  return {
    clock: service.clock,
    log: service.log,
    store,
    cache,
    projection: new Projection(announcer, store, cache),
    capacity: capacityReadModel(service.client),
    position,
    jetStream: { js: service.js, jsm: service.jsm },
  };
}
