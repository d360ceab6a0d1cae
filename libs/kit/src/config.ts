import { z } from 'zod';

/** Variables every service reads (README.md, Configuration). Services extend this schema with their own. */
export const baseEnv = z.object({
  NATS_URL: z.string().min(1),
  /** The service's NATS user and password, when the server requires them (deploy/k8s does). */
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  MONGO_URL: z.string().min(1),
  /** Database name; defaults to the service's name. Tests give each run its own. */
  MONGO_DB: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Port of the health/metrics server (`/healthz`, `/readyz`, `/metrics`); 0 picks a free one. */
  PORT: z.coerce.number().int().min(0).max(65535),
  /**
   * Copies of every stream this service ensures: 1 on a single server, 3 on the clustered
   * JetStream of deploy/k8s, so an acknowledged event survives the loss of a node.
   */
  NATS_STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
});
export type BaseEnv = z.infer<typeof baseEnv>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; a missing or invalid variable throws naming each one. */
export function loadConfig<T>(schema: z.ZodType<T, any>, env: NodeJS.ProcessEnv = process.env): T {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const name = issue.path.join('.');
      return env[name] === undefined ? `${name} is required` : `${name} ${issue.message}`;
    }),
  );
}

/** A positive integer variable with a default, e.g. `HOLD_TTL_SECONDS`. */
export const positiveInt = (fallback: number) => z.coerce.number().int().min(1).default(fallback);
