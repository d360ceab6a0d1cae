import { domainServices } from '@allot/contracts';
import { baseEnv, positiveInt } from '@allot/kit';
import { z } from 'zod';

const list = z.string().transform((s) =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
);

/** The gateway's environment (README's configuration table). */
export const gatewayEnv = baseEnv.extend({
  ROOT_API_KEY: z.string().min(16, 'must be at least 16 characters'),
  /** Signs user tokens; defaults to a key derived from ROOT_API_KEY so one secret is enough. */
  USER_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  RATE_LIMIT_PER_SECOND: positiveInt(50),
  RATE_LIMIT_BURST: positiveInt(100),
  CORS_ORIGINS: list.default(['*']),
  BODY_LIMIT_BYTES: positiveInt(1024 * 1024),
  /** The services `/readyz` asks; 200 only when every one answers. */
  READY_SERVICES: list.pipe(z.array(z.enum(domainServices))).default([...domainServices]),
  RPC_TIMEOUT_MS: positiveInt(5000),
  SSE_HEARTBEAT_MS: positiveInt(15_000),
  SSE_REPLAY_MINUTES: positiveInt(60),
  /** How long a replica trusts its cached view of an API key (revocation also arrives as an event). */
  API_KEY_CACHE_MS: positiveInt(4000),
  IDEMPOTENCY_TTL_HOURS: positiveInt(24),
});
export type GatewayConfig = z.infer<typeof gatewayEnv>;
