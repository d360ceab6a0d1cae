import { AppError } from '@allot/contracts';
import type { Context, MiddlewareHandler } from 'hono';
import type { ApiKeyVerifier } from '../auth/api-keys';
import { looksLikeApiKey } from '../auth/api-keys';
import type { Credential, CredentialKind } from '../auth/credentials';
import { secretMatcher } from '../auth/secrets';
import type { UserTokens } from '../auth/user-tokens';
import type { ApiKeyDoc } from '../store/api-keys';
import type { AddressTurns } from './address-turns';
import type { GatewayEnv } from './env';
import { requestHeader } from './node';
import type { Limit } from './rate-limit';

export interface AuthOptions {
  rootKey: string;
  apiKeys: ApiKeyVerifier;
  userTokens: UserTokens;
  now: () => Date;
  /** Anonymous requests and failed authentications, per client address. */
  addressLimit: Limit;
  /** Runs a client address's authentications a few at a time (see `authenticate`). */
  addressTurns: AddressTurns;
  clientAddress: (c: Context) => string;
}

/**
 * Establishes the credential of a request from `Authorization: Bearer …` (or `?access_token=`
 * on the SSE endpoint, where browsers cannot set headers). A credential that is presented but
 * invalid, expired or revoked is 401 at once; routes decide whether one is required.
 *
 * Anything but an API key verified moments ago takes a request from its client address's
 * allowance before any hashing or lookup, and gets it back once it proves authentic: so only
 * requests without a credential and failed authentications count, and once they spent the
 * allowance the address is refused (429). These authentications run at most a burst's worth at
 * a time per address, so even a concurrent flood of guessed keys costs at most a burst of
 * lookups, while many concurrent requests with one valid key wait a moment and pass (they share
 * their lookup).
 */
export function authenticate(options: AuthOptions): MiddlewareHandler<GatewayEnv> {
  const isRootKey = secretMatcher(options.rootKey);
  return function authenticateMiddleware(c, next) {
    const header = requestHeader(c, 'authorization');
    const token = header
      ? /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim()
      : c.req.path === '/v1/stream'
        ? c.req.query('access_token')
        : undefined;
    if (header && !token) throw new AppError('unauthorized', 'Authorization must be "Bearer <credential>"');
    // An API key that verified moments ago: no hashing, no await. (Only keys that failed the
    // root-key comparison ever get verified, so skipping that comparison changes nothing.)
    const known = token && looksLikeApiKey(token) ? options.apiKeys.known(token) : undefined;
    if (known) {
      c.set('credential', apiKeyCredential(known));
      return next();
    }
    return authenticateSlowly(c, next, token, isRootKey, options);
  };
}

async function authenticateSlowly(
  c: Context<GatewayEnv>,
  next: () => Promise<void>,
  token: string | undefined,
  isRootKey: (token: string) => boolean,
  options: AuthOptions,
) {
  const address = options.clientAddress(c);
  const outcome = await options.addressTurns.run(address, async () => {
    const refused = await options.addressLimit.take(c, address);
    if (refused || !token) return refused;
    const credential = await resolve(token, isRootKey, options);
    await options.addressLimit.giveBack(address);
    return credential;
  });
  if (outcome instanceof Response) return outcome;
  c.set('credential', outcome);
  return next();
}

const apiKeyCredential = (key: ApiKeyDoc): Credential => ({ kind: 'apiKey', id: key._id, tenantId: key.tenantId, keyId: key._id });

async function resolve(token: string, isRootKey: (token: string) => boolean, options: AuthOptions): Promise<Credential> {
  if (isRootKey(token)) return { kind: 'root', id: 'root', tenantId: null };
  if (looksLikeApiKey(token)) {
    const key = await options.apiKeys.verify(token);
    if (key) return apiKeyCredential(key);
  } else {
    const user = await options.userTokens.verify(token, options.now());
    // A token dies with the API key that minted it.
    if (user && (await options.apiKeys.isLive(user.apiKeyId))) return { kind: 'user', id: `${user.tenantId}:user:${user.userId}`, ...user };
  }
  throw new AppError('unauthorized', 'The credential is invalid, expired or revoked');
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
