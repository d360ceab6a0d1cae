import { AppError, validationError } from '@allot/contracts';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { CredentialKind } from '../auth/credentials';
import type { GatewayEnv } from './env';

/** A router whose validation failures become `validation_failed` naming each field. */
export function router() {
  return new OpenAPIHono<GatewayEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error);
    },
  });
}

/** The problem+json responses a route can answer, for the OpenAPI document. */
export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export function problems(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: `Problem (${status})`, content: { 'application/problem+json': { schema: Problem } } },
    ]),
  );
}

export const IdempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: 'Replays the first response for the same key and body (24 h)' }),
});

export const bearer = [{ bearer: [] }];

const credentialNames: Record<CredentialKind, string> = { root: 'the root key', apiKey: 'a tenant API key', user: 'a user token' };

/** The sentence that ends an operation's description: which credentials it accepts. */
export function callableBy(...kinds: CredentialKind[]) {
  const names = kinds.map((kind) => credentialNames[kind]);
  const listed = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names[0];
  return `Called with ${listed}.`;
}

export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
