import { baseEnv, positiveInt } from '@allot/kit';
import type { z } from 'zod';

/** The notifications service's environment. */
export const notificationsEnv = baseEnv.extend({
  /** Users per bulk-send batch: one bulk insert and one progress update each. */
  BULK_BATCH_SIZE: positiveInt(1000),
  /** How often waiting or interrupted bulk sends are picked up. */
  BULK_SWEEP_MS: positiveInt(200),
  /** How long a worker owns a tenant's turn at the bulk sender before another may take it (after a crash). */
  BULK_LEASE_MS: positiveInt(30_000),
  /** Read notifications older than this are purged; unread ones are kept. */
  READ_RETENTION_DAYS: positiveInt(30),
  /** How often the purge runs. */
  RETENTION_SWEEP_MS: positiveInt(3_600_000),
});
export type NotificationsConfig = z.infer<typeof notificationsEnv>;
