import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './generated/api.js';

/** A credential, or a function giving the current one (a user token that gets refreshed). */
export type Credential = string | (() => string | Promise<string>);

export interface ClientOptions {
  /** The gateway, e.g. `http://localhost:8080` (in a browser on the gateway's own page: `location.origin`). */
  baseUrl: string;
  /** Root key, tenant API key or user token, sent as `Authorization: Bearer …`. */
  credential: Credential;
  fetch?: typeof fetch;
}

export const currentCredential = async (credential: Credential) => (typeof credential === 'function' ? credential() : credential);

/**
 * The typed API client: `client.GET('/v1/bookings/{id}', { params: { path: { id } } })` answers
 * `{ data }` on success or `{ error }` (the problem+json body) otherwise, both typed from the
 * gateway's OpenAPI document.
 */
export function createAllotClient(options: ClientOptions) {
  const client = createClient<paths>({ baseUrl: options.baseUrl, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const authorize: Middleware = {
    async onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${await currentCredential(options.credential)}`);
      return request;
    },
  };
  client.use(authorize);
  return client;
}

export type AllotClient = ReturnType<typeof createAllotClient>;
