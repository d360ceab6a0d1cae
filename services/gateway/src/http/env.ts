import type { Logger } from '@allot/kit';
import type { Credential } from '../auth/credentials';

/** What middleware puts on the context for the routes. */
export interface GatewayVariables {
  requestId: string;
  log: Logger;
  credential: Credential | undefined;
  /**
   * Charges a failed authentication to the client's address and answers it: throws 401, or
   * returns the 429 once the address has spent its allowance (for routes that check signatures).
   */
  failAuthentication: (message: string, details?: Record<string, unknown>) => Promise<Response>;
}

export type GatewayEnv = { Variables: GatewayVariables };
