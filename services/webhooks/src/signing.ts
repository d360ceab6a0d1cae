import { Webhook } from 'standardwebhooks';
import type { SecretBox } from './secret-box';
import type { EndpointDoc, StoredSecret } from './store/endpoints';

/**
 * The `webhook-signature` header of Standard Webhooks, made by its reference library: `v1,<base64
 * HMAC-SHA256 of "{id}.{timestamp}.{body}">` under each secret that still signs (two, space
 * separated, for 24 hours after a rotation), newest first.
 */
export function signature(box: SecretBox, endpoint: EndpointDoc, messageId: string, at: Date, body: string): string {
  return endpoint.secrets
    .filter((s) => s.retiresAt === null || s.retiresAt > at)
    .map((s) => signer(box, endpoint, s).sign(messageId, at, body))
    .join(' ');
}

/**
 * Opened secrets, kept as long as the endpoint document read with them (the endpoint cache reads
 * it again every second or two while in use): opening one is an AES-GCM decryption, once per
 * document rather than once per attempt.
 */
const signers = new WeakMap<StoredSecret, Webhook>();

function signer(box: SecretBox, endpoint: EndpointDoc, secret: StoredSecret): Webhook {
  let webhook = signers.get(secret);
  if (!webhook) {
    webhook = new Webhook(box.open(secret.sealed, endpoint._id));
    signers.set(secret, webhook);
  }
  return webhook;
}

/** The three headers of one attempt. */
export function webhookHeaders(box: SecretBox, endpoint: EndpointDoc, messageId: string, at: Date, body: string): Record<string, string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature(box, endpoint, messageId, at, body),
  };
}
