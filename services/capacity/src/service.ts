import { capacityRpc } from '@allot/contracts';
import { defineService } from '@allot/kit';
import type { Db } from 'mongodb';
import type { CapacityService } from './config';
import { capacityEnv } from './config';
import { type Capacity, capacityContext } from './context';
import { bookingHandlers } from './handlers/bookings';
import { insightHandlers } from './handlers/insights';
import { queueHandlers } from './handlers/queue';
import { readModelHandlers } from './handlers/read-model';
import { sessionHandlers } from './handlers/sessions';
import { expiryJobs } from './jobs/expiries';
import { queueSweep } from './jobs/queue-sweep';
import { bookingIndexes } from './store/bookings';
import { queueIndexes } from './store/queue';
import { sessionIndexes } from './store/sessions';
import { slotIndexes } from './store/slots';

/** The capacity service (its README.md): sessions, slot ledgers, bookings and holds, the waitlist, insights. */
export const capacityService = defineService({
  name: 'capacity',
  env: capacityEnv,
  indexes: { sessions: sessionIndexes, slots: slotIndexes, bookings: bookingIndexes, queue: queueIndexes },
  rpc: capacityRpc,
  // The read-model operations read the collections across tenants, so they get the database itself.
  context: (service: CapacityService) => ({ ...capacityContext(service), db: service.db }),
  handlers: (cap: Capacity & { db: Db }) => ({
    ...sessionHandlers(cap),
    ...bookingHandlers(cap),
    ...queueHandlers(cap),
    ...insightHandlers(cap),
    ...readModelHandlers(cap.db),
  }),
  jobs: expiryJobs,
  tasks: (cap) => [queueSweep(cap)],
});

/** Starts the capacity service with this environment (tests; `main.ts` runs it as a process). */
export const startCapacity = capacityService.start;
