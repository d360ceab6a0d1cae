import { createService, runService } from '@allot/kit';
import { Capacity } from './capacity';
import { capacityEnv } from './config';
import { registerHandlers } from './handlers';
import { capacityIndexes } from './indexes';
import { startJobs } from './jobs';

let stopSweep: (() => Promise<void>) | undefined;

await runService(
  async () => {
    const service = await createService({ name: 'capacity', envSchema: capacityEnv, indexes: capacityIndexes });
    const cap = new Capacity(service);
    registerHandlers(cap);
    stopSweep = await startJobs(cap);
    return service;
  },
  { beforeStop: async () => stopSweep?.() },
);
