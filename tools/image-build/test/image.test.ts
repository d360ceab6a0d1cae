import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@allot/local-servers';
import { afterAll, describe, expect, inject, it } from 'vitest';

const root = path.resolve(__dirname, '../../..');
const run = promisify(execFile);

// What the Dockerfile's build stage produces, run the way its runtime stage runs it: plain node,
// no tsx, no dev dependencies. (No container engine here; the image itself is not built.)
describe('container build', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'allot-image-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('image - the gateway runs from its bundle and production dependencies only, and exits 0 on SIGTERM', async () => {
    await run('bash', ['tools/image-build/build-service.sh', 'gateway', out], { cwd: root });
    for (const dev of ['vitest', 'tsx', 'typescript', 'esbuild', '@biomejs', '@allot/local-servers'])
      expect(existsSync(path.join(out, 'node_modules', dev)), dev).toBe(false);
    expect(existsSync(path.join(out, 'src'))).toBe(false);

    const [port, opsPort] = [await freePort(), await freePort()];
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: out,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        NATS_URL: inject('natsUrl'),
        MONGO_URL: inject('mongoUrl'),
        MONGO_DB: `image_${port}`,
        PORT: String(port),
        OPS_PORT: String(opsPort),
        LOG_LEVEL: 'warn',
        ROOT_API_KEY: 'root_image_test_0123456789',
        USER_TOKEN_SECRET: 'image-test-user-token-secret-0123456789',
        READY_SERVICES: '',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await expect
      .poll(
        () =>
          fetch(`http://127.0.0.1:${port}/readyz`).then(
            (r) => r.status,
            () => 0,
          ),
        { timeout: 20_000, interval: 250 },
      )
      .toBe(200);
    // The offline API docs read their assets from the deployed swagger-ui-dist.
    expect((await fetch(`http://127.0.0.1:${port}/docs/assets/swagger-ui.css`)).status).toBe(200);
    // The dashboard was built with the image: the page and its script, without a bundler.
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    const script = await fetch(`http://127.0.0.1:${port}/dashboard.js`);
    expect(script.status).toBe(200);
    expect((await script.text()).length).toBeGreaterThan(1000);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 90_000);
});
