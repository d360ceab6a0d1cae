import { createHmac } from 'node:crypto';
import { ConfigError, createService } from '@allot/kit';
import { testEnv } from '@allot/kit/testing';
import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayEnv } from '../src/config';
import { createTenant, startTestGateway, type TestGateway, testUserTokenSecret, userToken } from './harness';

const encode = (secret: string) => new TextEncoder().encode(secret);

describe('gateway user tokens', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw.stop());

  it('user tokens - a token is no oracle for the root key: a right guess of it does not verify the token', async () => {
    const { key } = await createTenant(gw);
    const token = await userToken(gw, key, 'mallory');
    // The attacker's offline test of a root-key guess: derive the signing key as a gateway that
    // derived it from the root key would, and check the signature. Even the right guess fails.
    const derived = createHmac('sha256', gw.rootKey).update('allot user tokens').digest();
    await expect(jwtVerify(token, new Uint8Array(derived))).rejects.toThrow();
    await expect(jwtVerify(token, encode(gw.rootKey))).rejects.toThrow();
    // A gateway without a secret of its own does not start.
    await expect(
      createService({ name: 'gateway', envSchema: gatewayEnv, env: testEnv({ ROOT_API_KEY: gw.rootKey, OPS_PORT: '0' }) }),
    ).rejects.toThrow(ConfigError);
  });

  it('user tokens - carry iss, aud, kid and the minting key; a token for another audience or issuer is 401', async () => {
    const { key, keyId, tenantId } = await createTenant(gw);
    const token = await userToken(gw, key, 'alice');
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'HS256', kid: expect.any(String) });
    expect(decodeJwt(token)).toMatchObject({ iss: 'allot-gateway', aud: 'allot-api', sub: 'alice', tid: tenantId, akid: keyId });
    const { kid } = decodeProtectedHeader(token);
    const forge = (claims: { iss: string; aud: string }) =>
      new SignJWT({ tid: tenantId, akid: keyId })
        .setProtectedHeader({ alg: 'HS256', kid })
        .setIssuer(claims.iss)
        .setAudience(claims.aud)
        .setSubject('alice')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(encode(testUserTokenSecret));
    const url = '/v1/stream?channels=user';
    expect((await gw.call('HEAD', url, { key: token })).status).toBe(200);
    expect((await gw.call('HEAD', url, { key: await forge({ iss: 'allot-gateway', aud: 'billing' }) })).status).toBe(401);
    expect((await gw.call('HEAD', url, { key: await forge({ iss: 'someone-else', aud: 'allot-api' }) })).status).toBe(401);
  });

  it('user tokens - after a rotation, tokens of the previous secret still verify; tokens of an unknown secret do not', async () => {
    const { key } = await createTenant(gw);
    const before = await userToken(gw, key, 'bob');
    const newSecret = 'rotated-user-token-secret-9876543210fedcba';
    const rotated = await startTestGateway({
      ROOT_API_KEY: gw.rootKey,
      MONGO_DB: gw.service.config.MONGO_DB,
      USER_TOKEN_SECRET: newSecret,
      USER_TOKEN_PREVIOUS_SECRETS: testUserTokenSecret,
    });
    try {
      const after = await userToken(rotated, key, 'bob');
      expect(decodeProtectedHeader(after).kid).not.toBe(decodeProtectedHeader(before).kid);
      const url = '/v1/stream?channels=user';
      expect((await rotated.call('HEAD', url, { key: before })).status).toBe(200);
      expect((await rotated.call('HEAD', url, { key: after })).status).toBe(200);
      // The old gateway does not know the new secret.
      expect((await gw.call('HEAD', url, { key: after })).status).toBe(401);
    } finally {
      await rotated.stop();
    }
  });

  it('user tokens - revoking the API key that minted a token invalidates it within 5 s on every replica', async () => {
    const replica = await startTestGateway({ ROOT_API_KEY: gw.rootKey, MONGO_DB: gw.service.config.MONGO_DB });
    try {
      const { key } = await createTenant(gw);
      const minter = await gw.call('POST', '/v1/api-keys', { key, body: { name: 'app' } });
      const token = await userToken(gw, minter.body.key, 'carol');
      const url = '/v1/stream?channels=user';
      expect((await replica.call('HEAD', url, { key: token })).status).toBe(200);
      expect((await gw.call('DELETE', `/v1/api-keys/${minter.body.id}`, { key })).status).toBe(204);
      const revokedAt = Date.now();
      expect((await gw.call('HEAD', url, { key: token })).status).toBe(401);
      let status = 200;
      while (status !== 401 && Date.now() - revokedAt < 5000) {
        status = (await replica.call('HEAD', url, { key: token })).status;
        if (status !== 401) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(401);
    } finally {
      await replica.stop();
    }
  });
});
