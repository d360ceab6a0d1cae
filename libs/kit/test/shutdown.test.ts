import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { platformRpc } from '@allot/contracts';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RpcClient } from '../src/rpc';
import { testEnv, testNats } from '../src/testing';

const slow = platformRpc('answers after 500 ms', z.object({}), z.object({ done: z.boolean() }));

describe('shutdown', () => {
  it('shutdown - SIGTERM finishes the request in flight, then exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures/slow-service.ts')], {
      env: { ...process.env, ...testEnv({ LOG_LEVEL: 'info' }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.includes('notifications started')) resolve();
      });
    });

    const conn = await testNats();
    const reply = new RpcClient(conn.nc).call('notifications', 'test-slow-shutdown', slow, {}, { tenantId: null, actor: { kind: 'root' } });
    await new Promise((r) => setTimeout(r, 100)); // the request is in flight
    child.kill('SIGTERM');

    await expect(reply).resolves.toEqual({ done: true });
    expect(await exited).toBe(0);
    await conn.close();
  });
});
