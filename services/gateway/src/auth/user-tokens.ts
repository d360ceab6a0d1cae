import { errors, jwtVerify, SignJWT } from 'jose';
import { sha256 } from './secrets';

/** Who a user token speaks for: its tenant, its user and the API key that minted it. */
export interface UserTokenClaims {
  tenantId: string;
  userId: string;
  /** The API key that minted the token: revoking it invalidates the token. */
  apiKeyId: string;
  /** When the token expires (ms since the epoch). */
  expiresAt: number;
}

/** What the tokens are for: a token minted for something else that happens to share the secret is refused. */
const ISSUER = 'allot-gateway';
const AUDIENCE = 'allot-api';

interface SigningKey {
  id: string;
  key: Uint8Array;
}

/** A key id names a secret without revealing it: the first 16 characters of its SHA-256. */
const signingKey = (secret: string): SigningKey => ({
  id: sha256(secret).toString('base64url').slice(0, 16),
  key: new TextEncoder().encode(secret),
});

/**
 * Signs and verifies end users' tokens: HS256 JWTs with `iss`, `aud`, `sub` = userId,
 * `tid` = tenant, `akid` = the minting API key, and the signing key's id in the header. New
 * tokens are signed with the current secret; secrets rotated out still verify the tokens they
 * signed (which expire within 24 h), so a rotation logs nobody out.
 */
export class UserTokens {
  private readonly current: SigningKey;
  private readonly keys: Map<string, Uint8Array>;

  constructor(secret: string, previousSecrets: string[] = []) {
    this.current = signingKey(secret);
    this.keys = new Map([this.current, ...previousSecrets.map(signingKey)].map((k) => [k.id, k.key]));
  }

  async issue(
    claims: { tenantId: string; userId: string; apiKeyId: string },
    ttlSeconds: number,
    now: Date,
  ): Promise<{ token: string; expiresAt: string }> {
    const issuedAt = Math.floor(now.getTime() / 1000);
    const expires = issuedAt + ttlSeconds;
    const token = await new SignJWT({ tid: claims.tenantId, akid: claims.apiKeyId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: this.current.id })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(claims.userId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expires)
      .sign(this.current.key);
    return { token, expiresAt: new Date(expires * 1000).toISOString() };
  }

  /** The token's claims, or undefined if it is invalid, expired, or signed by a key we do not hold. */
  async verify(token: string, now: Date): Promise<UserTokenClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, (header) => this.keyFor(header.kid), {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'exp'],
        currentDate: now,
      });
      const { sub, tid, akid, exp } = payload;
      if (typeof sub !== 'string' || typeof tid !== 'string' || typeof akid !== 'string' || typeof exp !== 'number') return undefined;
      return { tenantId: tid, userId: sub, apiKeyId: akid, expiresAt: exp * 1000 };
    } catch (error) {
      if (error instanceof errors.JOSEError) return undefined;
      throw error;
    }
  }

  private keyFor(kid: string | undefined): Uint8Array {
    const key = kid === undefined ? undefined : this.keys.get(kid);
    if (!key) throw new errors.JWSSignatureVerificationFailed('unknown signing key');
    return key;
  }
}
