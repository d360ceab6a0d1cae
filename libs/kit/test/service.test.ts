import { AppError, rpc } from '@allot/contracts';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseEnv, ConfigError, loadConfig } from '../src/config';
import { createService } from '../src/service';
import { testEnv } from '../src/testing';

describe('service', () => {
  it('config - a missing or invalid variable is named in the error', () => {
    const schema = baseEnv.extend({ HOLD_TTL_SECONDS: z.coerce.number().int().min(1) });
    const error = (() => {
      try {
        loadConfig(schema, { NATS_URL: 'nats://x', PORT: 'eighty', HOLD_TTL_SECONDS: '0' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toContain('MONGO_URL is required');
    expect(error?.message).toContain('PORT');
    expect(error?.message).toContain('HOLD_TTL_SECONDS');
  });

  it('service - answers health, readiness and metrics, serves RPC, and stops cleanly', async () => {
    const service = await createService({ name: 'inventory', env: testEnv() });
    const echo = rpc('echo', z.object({ text: z.string() }), z.object({ text: z.string() }));
    service.rpc.add('test-echo', echo, async ({ text }) => {
      if (text === 'boom') throw new AppError('invalid_state', 'nope');
      return { text };
    });
    await service.start();
    const base = `http://127.0.0.1:${service.port}`;

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { started: true, nats: true, mongo: true } });
    const call = { tenantId: 't_1', actor: { kind: 'root' } } as const;
    await expect(service.client.call('inventory', 'test-echo', echo, { text: 'hi' }, call)).resolves.toEqual({ text: 'hi' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('allot_rpc_handler_duration_seconds');
    // Durations are in seconds, so the buckets are too: a fast call lands below 50 ms, not in one catch-all bucket.
    expect(metrics).toMatch(/allot_rpc_handler_duration_seconds_bucket\{[^}]*le="0\.05"\} [1-9]/);
    expect(metrics).not.toContain('le="5000"');

    await service.stop();
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
