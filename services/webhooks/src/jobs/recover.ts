import type { Webhooks } from '../context';
import { recoverDeliveries } from '../job-kinds';

/** Makes the endpoint's failed and exhausted deliveries since the given time due now, with a fresh schedule (idempotent). */
export const recoverJob = (wh: Webhooks) =>
  recoverDeliveries.handle(async ({ endpointId, since }) => {
    const recovered = await wh.deliveries.recover(endpointId, new Date(since), wh.clock.now());
    wh.log.info({ endpointId, since, recovered }, 'webhook deliveries recovered');
    wh.dispatcher.wake(endpointId);
  });
