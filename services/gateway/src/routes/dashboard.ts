import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Hono } from 'hono';
import type { GatewayEnv } from '../http/env';

const folder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dashboard');

/**
 * The dashboard's script, bundled from `dashboard/src` (and the typed client) once per process,
 * on first request: plain TypeScript needs no build step in the repository, and a gateway that
 * nobody opens in a browser never pays for it.
 */
let script: Promise<string> | undefined;
function dashboardScript(): Promise<string> {
  script ??= build({
    entryPoints: [path.join(folder, 'src/main.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
  }).then((result) => result.outputFiles[0]!.text);
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
