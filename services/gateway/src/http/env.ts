import type { Context } from '@opentelemetry/api';
import type { Credential } from '../auth/credentials';

/** What middleware puts on the context for the routes. */
export interface GatewayVariables {
  requestId: string;
  /** The request's trace (its span): passed on explicitly, not made active (see `requestContext`). */
  traceContext: Context;
  credential: Credential | undefined;
  /**
   * Charges a failed authentication to the client's address and answers it: throws 401, or
   * returns the 429 once the address has spent its allowance (for routes that check signatures).
   */
  failAuthentication: (message: string, details?: Record<string, unknown>) => Promise<Response>;
}

export type GatewayEnv = { Variables: GatewayVariables };
