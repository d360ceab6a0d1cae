import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newSigningSecret, SecretBox } from '../src/secret-box';
import { webhookHeaders } from '../src/signing';
import type { EndpointDoc } from '../src/store/endpoints';

describe('signing', () => {
  const box = new SecretBox('a master key for the test');
  const at = new Date();
  const endpointWith = (secrets: { secret: string; retiresAt: Date | null }[]) =>
    ({
      _id: 'whe_1',
      secrets: secrets.map(({ secret, retiresAt }) => ({ sealed: box.seal(secret, 'whe_1'), addedAt: at, retiresAt })),
    }) as unknown as EndpointDoc;

  it('signing - the reference library verifies every signature, under each secret still signing, of any UTF-8 body', () => {
    const [newer, older, retired] = [newSigningSecret(), newSigningSecret(), newSigningSecret()];
    const endpoint = endpointWith([
      { secret: newer, retiresAt: null },
      { secret: older, retiresAt: new Date(at.getTime() + 60_000) },
      { secret: retired, retiresAt: new Date(at.getTime() - 1) },
    ]);
    const body = JSON.stringify({ type: 'booking.created', note: 'Zoë, 東京 — 🎟️' });
    const headers = webhookHeaders(box, endpoint, 'evt_1', at, body);
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(new Webhook(newer).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(older).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(retired).verify(body, headers)).toThrow();
    expect(() => new Webhook(newer).verify(`${body} `, headers)).toThrow();
  });
});
