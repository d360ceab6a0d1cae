import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { bundleDashboard } from '../../dashboard/bundle';
import type { GatewayEnv } from '../http/env';

const here = path.dirname(fileURLToPath(import.meta.url));
/** In the container image the page comes built beside the gateway's bundle (`dist/dashboard`). */
const prebuilt = path.join(here, 'dashboard');
const isPrebuilt = existsSync(path.join(prebuilt, 'dashboard.js'));
const folder = isPrebuilt ? prebuilt : path.resolve(here, '../../dashboard');

/**
 * The dashboard's script. In the repository it is bundled from `dashboard/src` (and the typed
 * client) once per process, on first request — plain TypeScript needs no build step, and a
 * gateway nobody opens in a browser never pays for it; esbuild is only a dev dependency. In the
 * image it was bundled at build time (`dashboard/build.ts`).
 */
let script: Promise<string> | undefined;
function dashboardScript(): Promise<string> {
  script ??= isPrebuilt ? readFile(path.join(prebuilt, 'dashboard.js'), 'utf8') : bundleDashboard(path.join(folder, 'src/main.ts'));
  // A failed build is tried again on the next request rather than remembered.
  script.catch(() => (script = undefined));
  return script;
}

/** Same-origin only: the page talks to this gateway and loads nothing from elsewhere. */
const securityHeaders = {
  'content-security-policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const asset = async (name: string) => readFile(path.join(folder, name), 'utf8');

/** `/` serves the dashboard: one HTML page, one stylesheet, one bundled script. */
export function dashboardRoutes() {
  return new Hono<GatewayEnv>()
    .get('/', async (c) => c.html(await asset('index.html'), 200, securityHeaders))
    .get('/dashboard.css', async (c) =>
      c.body(await asset('dashboard.css'), 200, { 'content-type': 'text/css; charset=utf-8', ...securityHeaders }),
    )
    .get('/dashboard.js', async (c) =>
      c.body(await dashboardScript(), 200, { 'content-type': 'text/javascript; charset=utf-8', ...securityHeaders }),
    );
}
