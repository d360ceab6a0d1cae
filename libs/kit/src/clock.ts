/** Time as a dependency: expiries and schedules read it, tests can move it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
