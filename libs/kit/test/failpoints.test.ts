import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** Runs the fixture with `ALLOT_FAILPOINTS`; how it ended and what it printed. */
async function run(armed: string | undefined) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures/failpoints.ts')], {
    env: { ...process.env, ALLOT_FAILPOINTS: armed },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  return { code, signal, lines: out.trim().split('\n') };
}

describe('failpoints', () => {
  it('failpoints - an armed failpoint kills the process there; the others pass', async () => {
    expect(await run('other,armed')).toEqual({ code: null, signal: 'SIGKILL', lines: ['passed quiet'] });
  });

  it('failpoints - with none armed every failpoint passes', async () => {
    expect(await run(undefined)).toEqual({ code: 0, signal: null, lines: ['passed quiet', 'passed armed'] });
  });
});
