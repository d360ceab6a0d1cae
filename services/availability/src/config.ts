import { baseEnv, positiveInt } from '@allot/kit';
import type { z } from 'zod';

/** The availability service's environment. */
export const availabilityEnv = baseEnv.extend({
  /** Session/dates each replica keeps in memory (least recently used leave first). */
  AVAILABILITY_CACHE_SLOTS: positiveInt(200_000),
});
export type AvailabilityConfig = z.infer<typeof availabilityEnv>;
