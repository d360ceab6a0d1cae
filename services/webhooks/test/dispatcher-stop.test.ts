import { systemClock } from '@allot/kit';
import { eventually, testLogger } from '@allot/kit/testing';
import { describe, expect, it } from 'vitest';
import { Dispatcher } from '../src/dispatcher';
import { FairSlots } from '../src/domain/fair-slots';
import type { DeliveryStore } from '../src/store/deliveries';

describe('the dispatcher stopping', () => {
  it('does not wait for a look in the database that is still under way', async () => {
    // The poll's look never answers, as a scan of a large collection on a busy FerretDB takes
    // tens of seconds: a stop that waited for it would overrun the process's stop budget.
    let looks = 0;
    let handedBack = 0;
    let closed = false;
    const deliveries = {
      endpointsWithDue: () => {
        looks++;
        return new Promise<string[]>(() => {});
      },
      releaseHeld: async () => {
        handedBack++;
      },
    } as unknown as DeliveryStore;
    const dispatcher = new Dispatcher({
      clock: systemClock,
      log: testLogger(),
      deliveries,
      endpoint: async () => null,
      headers: () => ({}),
      post: async () => ({ statusCode: 204, retryAfter: undefined, response: null, error: null, durationMs: 1 }),
      health: { healthy: async () => {}, failing: async () => {}, disable: async () => {} },
      slots: new FairSlots(4, 4),
      close: () => {
        closed = true;
      },
      settings: { endpointConcurrency: 1, timeoutMs: 1000, schedule: [1], disableAfterMs: 60_000, pollMs: 1 },
    });
    dispatcher.start();
    await eventually(() => looks === 1);
    await dispatcher.stop();
    expect(handedBack).toBe(1);
    expect(closed).toBe(true);
  });
});
