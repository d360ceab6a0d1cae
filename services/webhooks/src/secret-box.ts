import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** A new signing secret in Standard Webhooks' form: `whsec_` and base64 of 32 random bytes. */
export const newSigningSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/**
 * The endpoints' signing secrets at rest (the service's README.md, Secrets): the service must
 * read them back to sign, so they cannot be hashed like API keys; they are stored encrypted with
 * AES-256-GCM under a key derived from `WEBHOOK_SECRET_KEY`, which lives in the deployment's
 * secrets, never in the database. The endpoint's id is bound in as associated data, so a sealed
 * secret copied onto another endpoint does not open.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(masterKey: string) {
    this.key = Buffer.from(hkdfSync('sha256', masterKey, 'allot webhooks', 'endpoint signing secret', 32));
  }

  seal(secret: string, endpointId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(endpointId));
    const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${iv.toString('base64url')}.${sealed.toString('base64url')}`;
  }

  /** The secret; throws if the text was not sealed by this key for this endpoint. */
  open(sealed: string, endpointId: string): string {
    const [iv, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
    if (!iv || !body || body.length < 16) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(endpointId));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
  }
}
