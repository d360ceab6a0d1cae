import type { HoardingLimits } from '@allot/contracts';
import { type Clock, TenantLimits } from '@allot/kit';
import type { Db } from 'mongodb';
import { defaultLimits } from '../domain/limits';

/** Each tenant's limits against hoarding: what it set, the defaults for the rest. */
export class LimitStore extends TenantLimits<HoardingLimits> {
  constructor(db: Db, clock: Clock) {
    super(db, clock, defaultLimits);
  }
}
