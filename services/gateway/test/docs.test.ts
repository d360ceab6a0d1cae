import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './harness';

describe('gateway /docs', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw.stop());

  it('docs - the page has a CSP allowing only its own files and no framing, and X-Frame-Options DENY', async () => {
    const res = await fetch(`${gw.base}/docs`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values.join(' ')]),
    );
    expect(directives.get('frame-ancestors')).toBe("'none'");
    expect(directives.get('default-src')).toBe("'none'");
    expect(directives.get('script-src')).toBe("'self'");
    expect(directives.get('style-src')).toBe("'self'");
    expect(directives.get('connect-src')).toBe("'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    // With script-src 'self', an inline script would not run: every script is a file of the gateway.
    const html = await res.text();
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/src="\/docs\/assets\//);
      expect(body?.trim()).toBe('');
    }
    expect((await fetch(`${gw.base}/docs/assets/swagger-ui.css`)).headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('docs - Swagger UI is configured not to keep pasted keys (persistAuthorization: false)', async () => {
    const res = await fetch(`${gw.base}/docs/assets/swagger-init.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    const init = await res.text();
    expect(init).toMatch(/SwaggerUIBundle\(/);
    expect(init).toMatch(/persistAuthorization:\s*false/);
    expect(init).not.toMatch(/persistAuthorization:\s*true/);
  });
});
