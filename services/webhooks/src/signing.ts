import { Webhook } from 'standardwebhooks';
import type { SecretBox } from './secret-box';
import type { EndpointDoc } from './store/endpoints';

/**
 * The `webhook-signature` header of Standard Webhooks, made by its reference library: `v1,<base64
 * HMAC-SHA256 of "{id}.{timestamp}.{body}">` under each secret that still signs (two, space
 * separated, for 24 hours after a rotation), newest first.
 */
export function signature(box: SecretBox, endpoint: EndpointDoc, messageId: string, at: Date, body: string): string {
  return endpoint.secrets
    .filter((s) => s.retiresAt === null || s.retiresAt > at)
    .map((s) => new Webhook(box.open(s.sealed, endpoint._id)).sign(messageId, at, body))
    .join(' ');
}

/** The three headers of one attempt. */
export function webhookHeaders(box: SecretBox, endpoint: EndpointDoc, messageId: string, at: Date, body: string): Record<string, string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature(box, endpoint, messageId, at, body),
  };
}
