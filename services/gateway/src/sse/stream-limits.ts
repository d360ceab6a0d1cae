import { AppError } from '@allot/contracts';

/**
 * Caps on the streams open on this replica, per credential and per tenant, so one key or one
 * tenant cannot hold every connection (and its memory). Like rate limits they are per replica.
 */
export class StreamLimits {
  // Two maps keyed by the ids themselves: an open stream holds no key string of its own.
  private readonly perCredential = new Map<string, number>();
  private readonly perTenant = new Map<string, number>();

  constructor(private readonly limits: { perCredential: number; perTenant: number }) {}

  /** Counts a stream in, or throws 429 naming the cap. */
  admit(credentialId: string, tenantId: string): void {
    if ((this.perCredential.get(credentialId) ?? 0) >= this.limits.perCredential) {
      throw new AppError('rate_limited', `At most ${this.limits.perCredential} streams may be open per credential`);
    }
    if ((this.perTenant.get(tenantId) ?? 0) >= this.limits.perTenant) {
      throw new AppError('rate_limited', `At most ${this.limits.perTenant} streams may be open per tenant`);
    }
    add(this.perCredential, credentialId, 1);
    add(this.perTenant, tenantId, 1);
  }

  /** Counts an admitted stream out; the caller does so once (no closure per stream remembers it). */
  release(credentialId: string, tenantId: string): void {
    add(this.perCredential, credentialId, -1);
    add(this.perTenant, tenantId, -1);
  }
}

function add(counts: Map<string, number>, key: string, delta: number) {
  const n = (counts.get(key) ?? 0) + delta;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}
