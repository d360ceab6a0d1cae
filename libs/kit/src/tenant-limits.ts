import type { Collection, Db } from 'mongodb';
import type { Clock } from './clock';

type LimitsDoc<T> = Partial<T> & {
  /** The tenant. */
  _id: string;
};

/** How long a replica trusts the limits it read (a change reaches every replica within this). */
const CACHE_MS = 5000;
/** Tenants whose limits one replica keeps in memory before it starts over. */
const CACHE_TENANTS = 10_000;

/**
 * A service's per-tenant limits: what the tenant set, the service's defaults for the rest. Each
 * service keeps the limits it enforces; the gateway shows them together as the tenant's limits.
 */
export class TenantLimits<T extends object> {
  private readonly docs: Collection<LimitsDoc<T>>;
  private readonly cache = new Map<string, { limits: T; until: number }>();

  constructor(
    db: Db,
    private readonly clock: Clock,
    private readonly defaults: T,
  ) {
    this.docs = db.collection<LimitsDoc<T>>('limits');
  }

  async get(tenantId: string): Promise<T> {
    const cached = this.cache.get(tenantId);
    if (cached && cached.until > this.clock.now().getTime()) return cached.limits;
    const { _id, ...set } = (await this.docs.findOne({ _id: tenantId } as never)) ?? { _id: tenantId };
    const limits = { ...this.defaults, ...set } as T;
    if (this.cache.size > CACHE_TENANTS) this.cache.clear();
    this.cache.set(tenantId, { limits, until: this.clock.now().getTime() + CACHE_MS });
    return limits;
  }

  /** Changes the named limits (none: just reads them) and answers all of them. */
  async set(tenantId: string, patch: Partial<T>): Promise<T> {
    if (Object.keys(patch).length === 0) return this.get(tenantId);
    await this.docs.updateOne({ _id: tenantId } as never, { $set: patch } as never, { upsert: true });
    this.cache.delete(tenantId);
    return this.get(tenantId);
  }
}
