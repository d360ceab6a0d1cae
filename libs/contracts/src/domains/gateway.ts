import { z } from 'zod';
import { event } from '../envelope';
import { Id, Timestamp } from '../primitives';

export const Tenant = z.object({ id: Id, name: z.string(), createdAt: Timestamp });
export type Tenant = z.infer<typeof Tenant>;

/** An API key as listed: never the secret. */
export const ApiKey = z.object({ id: Id, name: z.string(), prefix: z.string(), createdAt: Timestamp });
export type ApiKey = z.infer<typeof ApiKey>;

export const gatewayEvents = {
  'apikey.revoked': event('A tenant API key was revoked; every gateway replica drops it', z.object({ keyId: Id })),
};
