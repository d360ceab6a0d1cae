import type { Logger } from '@allot/kit';
import type { Credential } from '../auth/credentials';

/** What middleware puts on the context for the routes. */
export interface GatewayVariables {
  requestId: string;
  log: Logger;
  credential: Credential | undefined;
}

export type GatewayEnv = { Variables: GatewayVariables };
