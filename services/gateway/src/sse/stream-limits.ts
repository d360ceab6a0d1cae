import { AppError } from '@allot/contracts';

/**
 * Caps on the streams open on this replica, per credential and per tenant, so one key or one
 * tenant cannot hold every connection (and its memory). Like rate limits they are per replica.
 */
export class StreamLimits {
  private readonly open = new Map<string, number>();

  constructor(private readonly limits: { perCredential: number; perTenant: number }) {}

  /** Counts a stream in, or throws 429 naming the cap; returns the function that counts it out. */
  admit(credentialId: string, tenantId: string): () => void {
    const credentialKey = `credential:${credentialId}`;
    const tenantKey = `tenant:${tenantId}`;
    if ((this.open.get(credentialKey) ?? 0) >= this.limits.perCredential) {
      throw new AppError('rate_limited', `At most ${this.limits.perCredential} streams may be open per credential`);
    }
    if ((this.open.get(tenantKey) ?? 0) >= this.limits.perTenant) {
      throw new AppError('rate_limited', `At most ${this.limits.perTenant} streams may be open per tenant`);
    }
    this.add(credentialKey, 1);
    this.add(tenantKey, 1);
    let counted = true;
    return () => {
      if (!counted) return;
      counted = false;
      this.add(credentialKey, -1);
      this.add(tenantKey, -1);
    };
  }

  private add(key: string, delta: number) {
    const n = (this.open.get(key) ?? 0) + delta;
    if (n > 0) this.open.set(key, n);
    else this.open.delete(key);
  }
}
