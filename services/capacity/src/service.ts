import { capacityRpc } from '@allot/contracts';
import { defineService, every, importIndexes, reportIndexes, reportJobs } from '@allot/kit';
import { capacityEnv } from './config';
import { capacityContext } from './context';
import { bookingHandlers } from './handlers/bookings';
import { importOperations } from './handlers/imports';
import { insightHandlers } from './handlers/insights';
import { queueHandlers } from './handlers/queue';
import { readModelHandlers } from './handlers/read-model';
import { reportOperations } from './handlers/reports';
import { sessionHandlers } from './handlers/sessions';
import { reportJob } from './job-kinds';
import { expiryJobs } from './jobs/expiries';
import { importJobs } from './jobs/imports';
import { queueSweep } from './jobs/queue-sweep';
import { bookingIndexes } from './store/bookings';
import { queueIndexes } from './store/queue';
import { reportBookingIndexes } from './store/report-rows';
import { sessionIndexes } from './store/sessions';
import { slotIndexes } from './store/slots';

/** The capacity service (its README.md): sessions, slot ledgers, bookings and holds, the waitlist, insights. */
export const capacityService = defineService({
  name: 'capacity',
  env: capacityEnv,
  indexes: {
    sessions: sessionIndexes,
    slots: slotIndexes,
    bookings: [...bookingIndexes, ...reportBookingIndexes],
    queue: queueIndexes,
    ...importIndexes,
    ...reportIndexes,
  },
  rpc: capacityRpc,
  context: capacityContext,
  handlers: (cap) => ({
    ...sessionHandlers(cap),
    ...bookingHandlers(cap),
    ...queueHandlers(cap),
    ...insightHandlers(cap),
    ...readModelHandlers(cap),
    ...importOperations(cap),
    ...reportOperations(cap),
  }),
  jobs: (cap) => [...expiryJobs(cap), importJobs(cap.imports), reportJobs(reportJob, cap.reports)],
  tasks: (cap) => [
    queueSweep(cap),
    // Once after an upgrade; then one read by `_id` per turn.
    every(5_000, 'list-users-bookings', () => cap.bookings.listExisting()),
    every(3_600_000, 'import-purge', () => cap.imports.purge()),
    every(10_000, 'report-sweep', () => cap.reports.purge()),
  ],
});

/** Starts the capacity service with this environment (tests; `main.ts` runs it as a process). */
export const startCapacity = capacityService.start;
