import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { testEnv } from '../src/testing';

/** Runs the crashing fixture; its exit code and the JSON log lines it wrote. */
async function crash(kind: 'exception' | 'rejection') {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures/crashing-service.ts')], {
    env: { ...process.env, ...testEnv({ LOG_LEVEL: 'info' }), CRASH: kind },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: { level: string; msg: string; err?: { message: string } }[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('{')) logs.push(JSON.parse(line));
  });
  child.stderr.resume();
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, fatal: logs.find((l) => l.level === 'fatal') };
}

describe('crash', () => {
  it('crash - an uncaught exception is logged as a fatal line and the process exits 1', async () => {
    const { code, fatal } = await crash('exception');
    expect(code).toBe(1);
    expect(fatal?.err?.message).toBe('crash test: uncaught exception');
  });

  it('crash - an unhandled rejection is logged as a fatal line and the process exits 1', async () => {
    const { code, fatal } = await crash('rejection');
    expect(code).toBe(1);
    expect(fatal?.err?.message).toBe('crash test: unhandled rejection');
  });
});
