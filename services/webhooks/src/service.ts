import { webhooksRpc } from '@allot/contracts';
import { defineService } from '@allot/kit';
import { webhooksEnv } from './config';
import { webhooksContext } from './context';
import { fanOut } from './fan-out';
import { webhookHandlers } from './handlers/endpoints';
import { recoverJob } from './jobs/recover';
import { deliveryIndexes } from './store/deliveries';
import { endpointIndexes } from './store/endpoints';

/** The webhooks service (its README.md): tenants' endpoints, and every public event delivered to them, signed and retried. */
export const webhooksService = defineService({
  name: 'webhooks',
  env: webhooksEnv,
  indexes: { endpoints: endpointIndexes, deliveries: deliveryIndexes },
  rpc: webhooksRpc,
  context: webhooksContext,
  handlers: webhookHandlers,
  consumers: fanOut,
  jobs: (wh) => [recoverJob(wh)],
  tasks: (wh) => wh.upkeep,
  background: (wh) => [
    {
      name: 'dispatcher',
      async start() {
        wh.dispatcher.start();
        return { stop: () => wh.dispatcher.stop() };
      },
    },
  ],
});

/** Starts the webhooks service with this environment (tests; `main.ts` runs it as a process). */
export const startWebhooks = webhooksService.start;
