import { baseEnv, importEnv, positiveInt, reportEnv, type Service } from '@allot/kit';
import { z } from 'zod';

/** The inventory service's environment. */
export const inventoryEnv = baseEnv.extend({
  /** The supplier's API (the simulator in `make dev` and the tests). */
  SUPPLIER_URL: z.string().url(),
  /** How long one supplier call may take before it counts as a transport error. */
  SUPPLIER_TIMEOUT_MS: positiveInt(5000),
  /** The wait before each status check of a supplier reservation. */
  SUPPLIER_CHECK_DELAY_MS: positiveInt(15_000),
  /** Re-checks that may still answer `delayed` before the order fails (`supplier_delayed`). */
  SUPPLIER_MAX_DELAYED_RECHECKS: z.coerce.number().int().min(0).default(2),
  /** The first retry's wait after a supplier error; each next one doubles (1 s, 2 s, 4 s, 8 s, 16 s). */
  SUPPLIER_RETRY_BASE_MS: positiveInt(1000),
  /** Retries after a supplier error before the order fails (`supplier_unavailable`) with a dead letter. */
  SUPPLIER_RETRIES: z.coerce.number().int().min(0).default(5),
  /** How long a change may stay half done (a crash) before the sweep finishes it; well past any RPC deadline. */
  REPAIR_AFTER_MS: positiveInt(30_000),
  ...importEnv.shape,
  ...reportEnv.shape,
});
export type InventoryConfig = z.infer<typeof inventoryEnv>;

/** The kit's service as inventory runs it (its settings, events and jobs). */
export type InventoryService = Service<InventoryConfig, 'inventory'>;
