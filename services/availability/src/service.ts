import { availabilityRpc } from '@allot/contracts';
import { defineService, every } from '@allot/kit';
import { catchUp, recordProgress } from './catch-up';
import { availabilityEnv } from './config';
import { availabilityContext } from './context';
import { capacityEventConsumers } from './handlers/capacity-events';
import { availabilityHandlers } from './handlers/queries';
import { readModelIndexes } from './store/read-model';

/** The availability service (its README.md): a read model of the capacity events, queries, alerts, live updates. */
export const availabilityService = defineService({
  name: 'availability',
  env: availabilityEnv,
  indexes: readModelIndexes,
  rpc: availabilityRpc,
  context: availabilityContext,
  handlers: availabilityHandlers,
  consumers: capacityEventConsumers,
  tasks: (av) => [every(1000, 'record-progress', () => recordProgress(av))],
  // The replica's live feed, and the rebuild after a gap: what makes its answers current.
  background: (av) => [catchUp(av)],
});

/** Starts the availability service with this environment (tests; `main.ts` runs it as a process). */
export const startAvailability = availabilityService.start;
