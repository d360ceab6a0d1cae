import type { HoardingLimits } from '@allot/contracts';
import type { Clock } from '@allot/kit';
import type { Collection, Db } from 'mongodb';
import { defaultLimits } from '../domain/limits';

interface LimitsDoc extends Partial<HoardingLimits> {
  /** The tenant. */
  _id: string;
}

/** How long a replica trusts the limits it read (a change reaches every replica within this). */
const CACHE_MS = 5000;

/** Each tenant's limits against hoarding: what it set, the defaults for the rest. */
export class LimitStore {
  private readonly docs: Collection<LimitsDoc>;
  private readonly cache = new Map<string, { limits: HoardingLimits; until: number }>();

  constructor(
    db: Db,
    private readonly clock: Clock,
  ) {
    this.docs = db.collection<LimitsDoc>('limits');
  }

  async get(tenantId: string): Promise<HoardingLimits> {
    const cached = this.cache.get(tenantId);
    if (cached && cached.until > this.clock.now().getTime()) return cached.limits;
    const { _id, ...set } = (await this.docs.findOne({ _id: tenantId })) ?? { _id: tenantId };
    const limits = { ...defaultLimits, ...set };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(tenantId, { limits, until: this.clock.now().getTime() + CACHE_MS });
    return limits;
  }

  async set(tenantId: string, patch: Partial<HoardingLimits>): Promise<HoardingLimits> {
    await this.docs.updateOne({ _id: tenantId }, { $set: patch }, { upsert: true });
    this.cache.delete(tenantId);
    return this.get(tenantId);
  }
}
