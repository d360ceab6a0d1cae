import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Answers that carry a secret (a new API key) are kept for idempotent replays only in a form the
 * database alone cannot read: AES-256-GCM under a key derived from the credential the client
 * presented. The gateway stores that credential only as a hash, so the key exists only while the
 * same client asks again with it. `context` binds the sealed text to its record.
 */
const keyOf = (credential: string, context: string) => Buffer.from(hkdfSync('sha256', credential, context, 'allot idempotent answer', 32));

export function seal(text: string, credential: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(credential, context), iv);
  const sealed = Buffer.concat([cipher.update(text, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${iv.toString('base64url')}.${sealed.toString('base64url')}`;
}

/** The text `seal` was given, or undefined if this credential and context did not seal it. */
export function unseal(sealed: string, credential: string, context: string): string | undefined {
  const [iv, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
  if (!iv || !body || body.length < 16) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(credential, context), iv);
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
