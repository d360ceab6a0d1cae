import { isIP } from 'node:net';
import { domainServices } from '@allot/contracts';
import { baseEnv, positiveInt } from '@allot/kit';
import { z } from 'zod';

const list = z.string().transform((s) =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
);

const secret = z.string().min(32, 'must be at least 32 characters');

/** Addresses and CIDR ranges (`10.0.0.0/8`, `::1`), comma-separated. */
const addressList = list.refine(
  (entries) => entries.every((entry) => isIP(entry.split('/')[0] ?? '') !== 0),
  'must be IP addresses or CIDR ranges, comma-separated',
);

/** The gateway's environment (README's configuration table). */
export const gatewayEnv = baseEnv.extend({
  ROOT_API_KEY: z.string().min(16, 'must be at least 16 characters'),
  /** Signs user tokens. Its own secret, never derived from another (`make dev` generates one). */
  USER_TOKEN_SECRET: secret,
  /** Secrets rotated out: tokens they signed still verify until they expire (at most 24 h). */
  USER_TOKEN_PREVIOUS_SECRETS: list.pipe(z.array(secret)).default([]),
  /** Port of `/metrics` and the detailed `/readyz` (never on the public `PORT`); 0 picks a free one. */
  OPS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  RATE_LIMIT_PER_SECOND: positiveInt(50),
  RATE_LIMIT_BURST: positiveInt(100),
  /** Requests without a valid credential, per client address, checked before authentication. */
  ANONYMOUS_RATE_LIMIT_PER_SECOND: positiveInt(5),
  ANONYMOUS_RATE_LIMIT_BURST: positiveInt(20),
  /** Proxies whose `X-Forwarded-For` is believed when finding a client's address. */
  TRUSTED_PROXIES: addressList.default([]),
  CORS_ORIGINS: list.default(['*']),
  BODY_LIMIT_BYTES: positiveInt(1024 * 1024),
  /** The largest file an import may upload (50 MB). */
  IMPORT_FILE_LIMIT_BYTES: positiveInt(50 * 1024 * 1024),
  /** The services `/readyz` asks; 200 only when every one answers. */
  READY_SERVICES: list.pipe(z.array(z.enum(domainServices))).default([...domainServices]),
  RPC_TIMEOUT_MS: positiveInt(5000),
  SSE_HEARTBEAT_MS: positiveInt(15_000),
  SSE_REPLAY_MINUTES: positiveInt(60),
  /** Open streams per credential and per tenant, on each replica. */
  SSE_MAX_STREAMS_PER_CREDENTIAL: positiveInt(10),
  SSE_MAX_STREAMS_PER_TENANT: positiveInt(1000),
  /** Live messages a replaying stream may hold back; beyond it the stream asks the client to resume. */
  SSE_REPLAY_BUFFER_MESSAGES: positiveInt(1000),
  /** How long a replica trusts its cached view of an API key (revocation also arrives as an event). */
  API_KEY_CACHE_MS: positiveInt(4000),
  IDEMPOTENCY_TTL_HOURS: positiveInt(24),
  /**
   * Signs the supplier's callbacks (`POST /v1/webhooks/supplier`, Standard Webhooks): `whsec_<base64>`
   * or any string of 16 characters or more, used as it is; unset, every callback is refused (401).
   */
  SUPPLIER_WEBHOOK_SECRET: z
    .string()
    .min(16, 'must be at least 16 characters')
    .refine(
      (s) => !s.startsWith('whsec_') || /^[A-Za-z0-9+/]{22,}={0,2}$/.test(s.slice(6)),
      'whsec_ must be followed by base64 (16 bytes or more)',
    )
    .optional(),
});
export type GatewayConfig = z.infer<typeof gatewayEnv>;
