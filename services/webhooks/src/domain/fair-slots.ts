/**
 * Slots for attempts in flight, shared fairly between tenants: at most `total` at once, at most
 * `perTenant` for one tenant, and when slots are short a freed one goes to the waiting tenant
 * with the fewest in flight, so a tenant with thousands of deliveries waiting does not make
 * another wait behind them.
 */
export class FairSlots {
  private active = 0;
  private readonly byTenant = new Map<string, number>();
  /** Waiters by tenant, tenants in turn order (a Map keeps insertion order). */
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(
    private readonly total: number,
    private readonly perTenant: number,
  ) {}

  /** Resolves with a release function once a slot is this tenant's. */
  acquire(tenantId: string): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        this.take(tenantId);
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.release(tenantId);
        });
      };
      if (this.fits(tenantId) && !this.waiting.has(tenantId)) return grant();
      const queue = this.waiting.get(tenantId) ?? [];
      queue.push(grant);
      this.waiting.set(tenantId, queue);
    });
  }

  /**
   * A slot now, or null: only when one is free for this tenant and none of its own requests is
   * waiting (so taking it jumps no queue).
   */
  tryAcquire(tenantId: string): (() => void) | null {
    if (!this.fits(tenantId) || this.waiting.has(tenantId)) return null;
    this.take(tenantId);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(tenantId);
    };
  }

  get inFlight(): number {
    return this.active;
  }

  private fits(tenantId: string): boolean {
    return this.active < this.total && (this.byTenant.get(tenantId) ?? 0) < this.perTenant;
  }

  private take(tenantId: string) {
    this.active++;
    this.byTenant.set(tenantId, (this.byTenant.get(tenantId) ?? 0) + 1);
  }

  private release(tenantId: string) {
    this.active--;
    const left = (this.byTenant.get(tenantId) ?? 1) - 1;
    if (left > 0) this.byTenant.set(tenantId, left);
    else this.byTenant.delete(tenantId);
    this.grantWaiting();
  }

  /**
   * Gives free slots to waiting tenants: each to the one with the fewest attempts in flight
   * (ties: the one waiting longest), and a served tenant goes to the back of the line.
   */
  private grantWaiting() {
    while (this.active < this.total) {
      let next: string | undefined;
      for (const tenantId of this.waiting.keys()) {
        if (!this.fits(tenantId)) continue;
        if (next === undefined || (this.byTenant.get(tenantId) ?? 0) < (this.byTenant.get(next) ?? 0)) next = tenantId;
      }
      if (next === undefined) return;
      const queue = this.waiting.get(next) ?? [];
      const grant = queue.shift();
      this.waiting.delete(next);
      if (queue.length) this.waiting.set(next, queue); // to the back of the line
      grant?.();
    }
  }
}
