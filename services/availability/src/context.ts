import type { Clock, Service } from '@allot/kit';
import { ReadModelCache } from './cache';
import { type StartPosition, startPosition } from './catch-up';
import type { AvailabilityConfig } from './config';
import { Projection } from './projection';
import { ReadModelStore } from './store/read-model';

/** What the availability handlers, the projection and the catch-up work with. */
export interface Availability {
  service: Service<AvailabilityConfig, 'availability'>;
  clock: Clock;
  store: ReadModelStore;
  cache: ReadModelCache;
  projection: Projection;
  position: StartPosition;
}

/** The composition root. The start position is read first, before the projection's consumer runs. */
export async function availabilityContext(service: Service<AvailabilityConfig, 'availability'>): Promise<Availability> {
  const store = new ReadModelStore(service.db);
  const position = await startPosition(service.jsm, store);
  const cache = new ReadModelCache(store, service.config.AVAILABILITY_CACHE_SLOTS);
  return { service, clock: service.clock, store, cache, projection: new Projection(service, store, cache), position };
}
