import { baseEnv, importEnv, positiveInt, reportEnv, type Service } from '@allot/kit';
import { z } from 'zod';

/** The capacity service's environment. */
export const capacityEnv = baseEnv.extend({
  /** How long a held booking waits for confirmation. */
  HOLD_TTL_SECONDS: positiveInt(600),
  /** How long a waitlist entry waits before it expires unserved. */
  QUEUE_TTL_MINUTES: z.coerce.number().positive().default(120),
  /** The estimate of each place in the queue: `(position − 1) × this`. */
  QUEUE_MINUTES_PER_POSITION: positiveInt(5),
  /** How often the waitlists with free capacity are processed (besides every triggering change). */
  QUEUE_SWEEP_MS: positiveInt(5000),
  /** How long a change may stay half done (a crash) before the sweep finishes it; well past any RPC deadline. */
  REPAIR_AFTER_MS: positiveInt(30_000),
  ...importEnv.shape,
  ...reportEnv.shape,
});
export type CapacityConfig = z.infer<typeof capacityEnv>;

/** The kit's service as capacity runs it (its settings, events and jobs). */
export type CapacityService = Service<CapacityConfig, 'capacity'>;
