import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/** How far a callback's `webhook-timestamp` may be from the gateway's clock (fixed by the library). */
export const SUPPLIER_TOLERANCE_MS = 5 * 60_000;

/**
 * The supplier's signing key. `whsec_<base64>` is Standard Webhooks' form (the key is the
 * decoded bytes); any other string, the form this setting always had, is the key as it is.
 */
export function supplierSigner(secret: string): Webhook {
  return secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' });
}

export type SupplierSignature = { ok: true; id: string } | { ok: false; reason: SignatureFailure; message: string };
type SignatureFailure = 'not_configured' | 'missing_headers' | 'stale_timestamp' | 'bad_signature';

/**
 * Checks a supplier callback as Standard Webhooks signs it (the `standardwebhooks` package):
 * `webhook-signature` holds `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{raw body}">`
 * (several, space-separated, while a secret rotates), compared in constant time, and the
 * timestamp must be within 5 minutes of now. So a captured call replays for 5 minutes at most,
 * and the route refuses a `webhook-id` it already received within that time.
 */
export function supplierSignatureChecker(secret: string | undefined) {
  const signer = secret ? supplierSigner(secret) : undefined;
  return (raw: string, headers: (name: string) => string | undefined): SupplierSignature => {
    if (!signer)
      return { ok: false, reason: 'not_configured', message: 'Supplier callbacks are not enabled (SUPPLIER_WEBHOOK_SECRET is unset)' };
    const id = headers('webhook-id');
    const timestamp = headers('webhook-timestamp');
    const signature = headers('webhook-signature');
    if (!id || !timestamp || !signature)
      return { ok: false, reason: 'missing_headers', message: 'webhook-id, webhook-timestamp and webhook-signature are required' };
    if (!/^\d{1,12}$/.test(timestamp))
      return { ok: false, reason: 'stale_timestamp', message: 'webhook-timestamp must be the signing time in unix seconds' };
    try {
      signer.verify(raw, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature }, { jsonParse: false });
      return { ok: true, id };
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      if (/timestamp/i.test(error.message))
        return {
          ok: false,
          reason: 'stale_timestamp',
          message: 'webhook-timestamp is more than 5 minutes away from now: the call is refused as a replay',
        };
      return { ok: false, reason: 'bad_signature', message: 'webhook-signature does not match the id, timestamp and body' };
    }
  };
}
