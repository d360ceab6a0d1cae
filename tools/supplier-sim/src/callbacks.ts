import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** A supplier callback as sent over HTTP: the exact body and the Standard Webhooks headers that sign it. */
export interface SignedCallback {
  body: string;
  headers: { 'content-type': string; 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string };
}

/**
 * Signs a callback as the gateway checks it (Standard Webhooks, with the same `standardwebhooks`
 * package): `whsec_<base64>` secrets are the decoded bytes, any other string is the key as it is.
 * `id` defaults to a new one, `at` to now (tests pass old times and repeated ids).
 */
export function signCallback(secret: string, body: unknown, options: { id?: string; at?: Date } = {}): SignedCallback {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const signer = secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' });
  const id = options.id ?? `msg_${randomUUID()}`;
  const at = options.at ?? new Date();
  return {
    body: raw,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signer.sign(id, at, raw),
    },
  };
}

/** Where and how the simulator sends its callbacks (`POST /_callbacks`). */
export interface CallbackTarget {
  /** The gateway's base URL. */
  url: string;
  secret: string;
}

/** Sends a signed `{ref, status}` callback to the gateway; answers the gateway's status and body. */
export async function sendCallback(target: CallbackTarget, body: { ref: string; status: 'ok' | 'fail' }) {
  const signed = signCallback(target.secret, body);
  const res = await fetch(new URL('/v1/webhooks/supplier', target.url), { method: 'POST', headers: signed.headers, body: signed.body });
  return { status: res.status, body: (await res.json().catch(() => null)) as unknown, webhookId: signed.headers['webhook-id'] };
}
