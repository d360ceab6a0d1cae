import { defineJob } from '@allot/kit';
import { z } from 'zod';

/** `POST …/:id/recover`: makes an endpoint's failed and exhausted deliveries since a time due again. */
export const recoverDeliveries = defineJob('recover', z.object({ endpointId: z.string(), since: z.string() }));
