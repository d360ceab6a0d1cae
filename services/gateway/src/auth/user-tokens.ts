import { createHmac } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';

/** Signs and verifies end users' tokens: HS256 JWTs with `sub` = userId and `tid` = tenant. */
export class UserTokens {
  private readonly key: Uint8Array;

  constructor(secret: string | undefined, rootKey: string) {
    // Without a secret of its own, derive one from the root key, so one secret runs a gateway.
    this.key = new Uint8Array(createHmac('sha256', rootKey).update('allot user tokens').digest());
    if (secret) this.key = new TextEncoder().encode(secret);
  }

  async issue(tenantId: string, userId: string, ttlSeconds: number, now: Date): Promise<{ token: string; expiresAt: string }> {
    const issuedAt = Math.floor(now.getTime() / 1000);
    const expires = issuedAt + ttlSeconds;
    const token = await new SignJWT({ tid: tenantId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expires)
      .sign(this.key);
    return { token, expiresAt: new Date(expires * 1000).toISOString() };
  }

  /** The token's tenant and user, or undefined if it is invalid or expired. */
  async verify(token: string, now: Date): Promise<{ tenantId: string; userId: string } | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], currentDate: now });
      if (typeof payload.sub !== 'string' || typeof payload.tid !== 'string') return undefined;
      return { tenantId: payload.tid, userId: payload.sub };
    } catch (error) {
      if (error instanceof errors.JOSEError) return undefined;
      throw error;
    }
  }
}
