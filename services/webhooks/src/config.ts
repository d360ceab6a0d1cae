import { baseEnv, positiveInt } from '@allot/kit';
import { z } from 'zod';
import { parseSchedule } from './domain/retry';

/** The webhooks service's environment (its README.md, Configuration). */
export const webhooksEnv = baseEnv.extend({
  /**
   * Encrypts the endpoints' signing secrets at rest (AES-256-GCM under a key derived from it). At
   * least 32 characters; losing it makes every stored secret unreadable (rotate the endpoints' secrets).
   */
  WEBHOOK_SECRET_KEY: z.string().min(32, 'must be at least 32 characters'),
  /** Allows `http:` URLs and private, loopback and link-local addresses (`make dev` and tests only). */
  WEBHOOK_ALLOW_PRIVATE: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /** How long one attempt may take, from connecting to the end of the answer. */
  WEBHOOK_TIMEOUT_MS: positiveInt(15_000),
  /** Seconds before each retry (±20 % jitter); after the last, the message is exhausted. */
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .default('5,300,1800,7200,18000,36000,36000')
    .transform((text, ctx) => {
      const schedule = parseSchedule(text);
      if (!schedule) ctx.addIssue({ code: 'custom', message: 'must be comma-separated positive seconds' });
      return schedule ?? [];
    }),
  /** An endpoint whose every attempt failed for this long is disabled (5 days). */
  WEBHOOK_DISABLE_AFTER_SECONDS: positiveInt(432_000),
  /** Deliveries in flight at once to one endpoint, per process. */
  WEBHOOK_ENDPOINT_CONCURRENCY: positiveInt(4),
  /** Deliveries in flight at once for one tenant's endpoints together, per process. */
  WEBHOOK_TENANT_CONCURRENCY: positiveInt(64),
  /** Deliveries in flight at once in this process. */
  WEBHOOK_CONCURRENCY: positiveInt(512),
  /** Endpoints one tenant may have: each event is stored and sent once per endpoint that wants it. */
  WEBHOOK_MAX_ENDPOINTS: positiveInt(50),
  /**
   * How often due deliveries that nothing in this process is waiting for are looked for: retries
   * more than 10 minutes ahead (nearer ones have timers) and what a replica that died left (its
   * leases run 2 × the timeout + 5 s first), so a few seconds more cost nobody; each look is a
   * scan of every delivery on FerretDB.
   */
  WEBHOOK_POLL_MS: positiveInt(5000),
});
export type WebhooksConfig = z.infer<typeof webhooksEnv>;
