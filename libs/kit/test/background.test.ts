import { describe, expect, it } from 'vitest';
import { defineService } from '../src/define-service';
import { testEnv } from '../src/testing';

describe('background work', () => {
  it('background - starts on the built context, holds /readyz until ready, stops before the connections close', async () => {
    const seen: string[] = [];
    let caughtUp = false;
    const running = await defineService({
      name: 'inventory',
      context: (service) => ({ natsOpen: () => !service.nc.isClosed(), label: 'ctx' }),
      background: (ctx) => [
        {
          name: 'caughtUp',
          start: () => {
            seen.push(`started on ${ctx.label}`);
            return {
              ready: async () => caughtUp,
              stop: async () => {
                seen.push(`stopped, NATS open: ${ctx.natsOpen()}`);
              },
            };
          },
        },
      ],
    }).start(testEnv());
    const readyz = async () => {
      const reply = await fetch(`http://127.0.0.1:${running.port}/readyz`);
      return { status: reply.status, checks: ((await reply.json()) as { checks: Record<string, boolean> }).checks };
    };

    expect(seen).toEqual(['started on ctx']);
    expect(await readyz()).toMatchObject({ status: 503, checks: { started: true, caughtUp: false } });
    caughtUp = true;
    expect(await readyz()).toMatchObject({ status: 200, checks: { caughtUp: true } });

    await running.stop();
    expect(seen).toEqual(['started on ctx', 'stopped, NATS open: true']);
  });
});
