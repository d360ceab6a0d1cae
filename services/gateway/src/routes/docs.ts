import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Hono } from 'hono';
import type { GatewayEnv } from '../http/env';

/**
 * `/docs`: Swagger UI over `/v1/openapi.json`, its assets served from the `swagger-ui-dist`
 * package rather than a CDN, so the page works without internet (offline laptops, air-gapped
 * clusters).
 */
const assets = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
} as const;

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Allot API</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/v1/openapi.json', dom_id: '#swagger-ui', persistAuthorization: true });</script>
</body>
</html>`;

export function docsRoutes() {
  const dir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  // Read once at start: a missing asset stops the gateway instead of serving a blank page.
  const files = Object.entries(assets).map(([name, type]) => ({ name, type, body: readFileSync(path.join(dir, name)) }));
  const app = new Hono<GatewayEnv>();
  app.get('/docs', (c) => c.html(page));
  for (const file of files)
    app.get(`/docs/assets/${file.name}`, (c) =>
      c.body(file.body, 200, { 'content-type': file.type, 'cache-control': 'public, max-age=86400' }),
    );
  return app;
}
