import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../src/index';
import { startTestGateway, type TestGateway } from './harness';

/**
 * What the typed client and the dashboard rely on: the document the client is generated from
 * (built in-process) is the one the gateway serves, and `/` serves the page, its stylesheet and
 * its bundled script without any credential.
 */
describe('gateway dashboard and document', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw.stop());

  it('openapi - the in-process document is the one /v1/openapi.json serves', async () => {
    const served = await gw.call('GET', '/v1/openapi.json');
    expect(served.status).toBe(200);
    expect(served.body).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });

  it('dashboard - the page, stylesheet and bundled script are served same-origin only', async () => {
    const page = await fetch(`${gw.base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('/dashboard.js');
    expect(html).toContain('/dashboard.css');

    const css = await fetch(`${gw.base}/dashboard.css`);
    expect(css.headers.get('content-type')).toContain('text/css');
    const script = await fetch(`${gw.base}/dashboard.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    // Bundled: the typed client and the stream helper are inside, no bare imports are left.
    const code = await script.text();
    expect(code).toContain('/v1/stream');
    expect(code).not.toMatch(/from\s*["']@allot\//);
  });
});
