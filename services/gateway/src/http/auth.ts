import { AppError } from '@allot/contracts';
import type { Context, MiddlewareHandler } from 'hono';
import type { ApiKeyVerifier } from '../auth/api-keys';
import { looksLikeApiKey } from '../auth/api-keys';
import type { Credential, CredentialKind } from '../auth/credentials';
import { secretMatcher } from '../auth/secrets';
import type { UserTokens } from '../auth/user-tokens';
import type { ApiKeyDoc } from '../store/api-keys';
import type { AddressTurns } from './address-turns';
import { addressGroup } from './client-address';
import type { GatewayEnv } from './env';
import { requestHeader } from './node';
import type { Limit } from './rate-limit';

export interface AuthOptions {
  rootKey: string;
  apiKeys: ApiKeyVerifier;
  userTokens: UserTokens;
  now: () => Date;
  /** Failed authentications and requests without a credential, per client address (IPv6 by /64). */
  addressLimit: Limit;
  /** Runs a client address's API key lookups a few at a time (see `authenticate`). */
  addressTurns: AddressTurns;
  clientAddress: (c: Context) => string;
  /**
   * Routes that authenticate requests by a signature of their own (the supplier's callback): a
   * request there without a credential is not charged up front; the route charges it through
   * `failAuthentication` if its signature fails.
   */
  signedPaths?: readonly string[];
}

/**
 * Establishes the credential of a request from `Authorization: Bearer …` (or `?access_token=`
 * on the SSE endpoint, where browsers cannot set headers). A credential that is presented but
 * invalid, expired or revoked is 401 at once; routes decide whether one is required.
 *
 * Only failures are charged to the client's address, never valid credentials, so junk sent from
 * an address shared by many users (an office, a carrier's NAT) locks out no valid credential:
 * - the root key and user tokens (HS256, checked in memory) are verified before any limit is
 *   consulted; a failure takes one request from the address's allowance, 401 while some is
 *   left and 429 after;
 * - an API key verified moments ago costs nothing at all; another one needs a store lookup,
 *   which must stay cheap for an attacker: lookups run a burst's worth at a time per address,
 *   each paid from the allowance unless the key proves valid, and once the allowance is spent
 *   only keys whose prefix verified on this replica lately are still looked up — the rest are
 *   refused (429) without a lookup;
 * - a request without a credential takes one request from the allowance (it may still reach a
 *   route that needs none).
 */
export function authenticate(options: AuthOptions): MiddlewareHandler<GatewayEnv> {
  const isRootKey = secretMatcher(options.rootKey);
  const signed = new Set(options.signedPaths ?? []);
  const { addressLimit, apiKeys } = options;

  /** Charges a failure to the address: 429 once it has spent its allowance, else 401. */
  const fail = async (c: Context, address: string, message: string, details?: Record<string, unknown>): Promise<Response> => {
    const refused = await addressLimit.take(c, address);
    if (refused) return refused;
    throw new AppError('unauthorized', message, details);
  };

  /**
   * An API key not verified lately, looked up in its address's turn. A key whose prefix
   * verified here lately is looked up freely; any other lookup is paid for up front from the
   * allowance (so lookups in flight never outrun it) and the payment is given back if the key
   * proves valid.
   */
  const lookUp = (c: Context, address: string, token: string) =>
    options.addressTurns.run(address, async (): Promise<Credential | Response> => {
      if (apiKeys.worthLookingUp(token)) {
        const key = await apiKeys.verify(token);
        return key ? apiKeyCredential(key) : fail(c, address, INVALID);
      }
      const refused = await addressLimit.take(c, address);
      if (refused) return refused;
      // A store that cannot answer is no failure of the client's: its payment comes back too.
      const key = await apiKeys.verify(token).catch(async (error: unknown) => {
        await addressLimit.giveBack(address);
        throw error;
      });
      if (!key) throw new AppError('unauthorized', INVALID);
      await addressLimit.giveBack(address);
      return apiKeyCredential(key);
    });

  return async function authenticateMiddleware(c, next) {
    const header = requestHeader(c, 'authorization');
    const token = header ? bearerOf(header) : c.req.path === '/v1/stream' ? c.req.query('access_token') : undefined;
    const address = () => addressGroup(options.clientAddress(c));
    c.set('failAuthentication', (message, details) => fail(c, address(), message, details));
    if (header && !token) return fail(c, address(), 'Authorization must be "Bearer <credential>"');
    if (!token) {
      if (signed.has(c.req.path)) return next();
      const refused = await addressLimit.take(c, address());
      return refused ?? next();
    }
    // An API key that verified moments ago: no hashing, no lookup. (Only keys that failed the
    // root-key comparison ever get verified, so skipping that comparison changes nothing.)
    const known = looksLikeApiKey(token) ? apiKeys.known(token) : undefined;
    let credential: Credential | Response | undefined = known && apiKeyCredential(known);
    if (!credential && isRootKey(token)) credential = { kind: 'root', id: 'root', tenantId: null };
    if (!credential && looksLikeApiKey(token)) credential = await lookUp(c, address(), token);
    if (!credential && !looksLikeApiKey(token)) credential = await userCredential(token, options);
    if (!credential) return fail(c, address(), INVALID);
    if (credential instanceof Response) return credential;
    c.set('credential', credential);
    return next();
  };
}

const INVALID = 'The credential is invalid, expired or revoked';

/** The credential of `Authorization: Bearer <credential>`, or undefined if the header is not of that form. */
export const bearerOf = (header: string): string | undefined => /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();

export const apiKeyCredential = (key: ApiKeyDoc) =>
  ({ kind: 'apiKey', id: key._id, tenantId: key.tenantId, keyId: key._id }) satisfies Credential;

/** A user token's credential: signed by us (checked in memory), unexpired, and its minting key still live. */
async function userCredential(token: string, options: AuthOptions): Promise<Credential | undefined> {
  const user = await options.userTokens.verify(token, options.now());
  // A token dies with the API key that minted it (a cached read, reached only with a token we signed).
  if (user && (await options.apiKeys.isLive(user.apiKeyId))) return { kind: 'user', id: `${user.tenantId}:user:${user.userId}`, ...user };
  return undefined;
}

/**
 * Requires one of the given credential kinds: none at all is 401; another kind is 403
 * (e.g. a user token on an admin route).
 */
export function requireCredential<K extends CredentialKind>(...kinds: K[]): MiddlewareHandler<GatewayEnv> {
  return async function requireCredentialMiddleware(c, next) {
    const credential = c.get('credential');
    if (!credential) throw new AppError('unauthorized', 'A credential is required: Authorization: Bearer <key or token>');
    if (!kinds.includes(credential.kind as K))
      throw new AppError('forbidden', `This operation is not allowed for a ${describe(credential.kind)}`);
    await next();
  };
}

const describe = (kind: CredentialKind) => ({ root: 'root key', apiKey: 'tenant API key', user: 'user token' })[kind];

/** The credential of a request, which must be of one of `kinds` (as `requireCredential` checked). */
export function credentialOf<K extends CredentialKind>(c: { get(key: 'credential'): Credential | undefined }, ...kinds: K[]) {
  const credential = c.get('credential');
  if (!credential) throw new AppError('unauthorized', 'A credential is required');
  if (!kinds.includes(credential.kind as K))
    throw new AppError('forbidden', `This operation is not allowed for a ${describe(credential.kind)}`);
  return credential as Extract<Credential, { kind: K }>;
}
