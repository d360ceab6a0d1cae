import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { GatewayEnv } from '../http/env';

/**
 * `/docs`: Swagger UI over `/v1/openapi.json`, its assets served from the `swagger-ui-dist`
 * package rather than a CDN, so the page works without internet (offline laptops, air-gapped
 * clusters) and its CSP can allow the gateway's own files alone.
 */
const assets = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
} as const;

/**
 * Starts Swagger UI. A file rather than an inline script, so the page's CSP needs no
 * `'unsafe-inline'`. `persistAuthorization: false`: a key pasted into "Authorize" lives only as
 * long as the tab and is never written to localStorage, where any script on the origin, or the
 * next user of the browser, could read it.
 */
export const swaggerInit = `window.ui = SwaggerUIBundle({
  url: '/v1/openapi.json',
  dom_id: '#swagger-ui',
  persistAuthorization: false,
});
`;

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
<script src="/docs/assets/swagger-init.js"></script>
</body>
</html>`;

/**
 * The page runs only its own files: scripts and styles from the gateway, images from it or
 * `data:` (Swagger UI's icons), requests to it alone (the document and "Try it out"), and no
 * other site may frame it (`frame-ancestors 'none'`, and `X-Frame-Options: DENY` for older
 * browsers), so a key typed into it cannot be clickjacked. HSTS is left to whatever terminates
 * TLS in front of the gateway.
 */
const docsHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: 'DENY',
  strictTransportSecurity: false,
});

export function docsRoutes() {
  const dir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  // Read once at start: a missing asset stops the gateway instead of serving a blank page.
  const files = Object.entries(assets).map(([name, type]) => ({ name, type, body: readFileSync(path.join(dir, name)) }));
  const app = new Hono<GatewayEnv>();
  app.use('/docs', docsHeaders);
  app.use('/docs/*', docsHeaders);
  app.get('/docs', (c) => c.html(page));
  app.get('/docs/assets/swagger-init.js', (c) =>
    c.body(swaggerInit, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }),
  );
  for (const file of files)
    app.get(`/docs/assets/${file.name}`, (c) =>
      c.body(file.body, 200, { 'content-type': file.type, 'cache-control': 'public, max-age=86400' }),
    );
  return app;
}
