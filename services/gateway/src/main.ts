import { createService, runService } from '@allot/kit';
import { gatewayEnv } from './config';
import { gatewayIndexes, type RunningGateway, startGateway } from './gateway';

let gateway: RunningGateway | undefined;

await runService(
  async () => {
    const service = await createService({ name: 'gateway', envSchema: gatewayEnv, indexes: gatewayIndexes });
    gateway = await startGateway(service);
    return service;
  },
  { healthServer: false, beforeStop: async () => gateway?.close() },
);
