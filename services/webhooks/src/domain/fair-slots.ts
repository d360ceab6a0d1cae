/**
 * Slots for attempts in flight, shared fairly between tenants: at most `total` at once, at most
 * `perTenant` for one tenant, and when slots are short the waiting tenants take turns (round
 * robin), so a tenant with thousands of deliveries waiting does not make another wait behind them.
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

  /** Gives free slots to waiting tenants in turn: each served tenant goes to the back of the line. */
  private grantWaiting() {
    let progressed = true;
    while (this.active < this.total && progressed) {
      progressed = false;
      for (const [tenantId, queue] of this.waiting) {
        if (!this.fits(tenantId)) continue;
        const next = queue.shift();
        this.waiting.delete(tenantId);
        if (queue.length) this.waiting.set(tenantId, queue); // to the back of the line
        next?.();
        progressed = true;
        break;
      }
    }
  }
}
