import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack';

/**
 * `/docs` in Debian's Chromium (as the dashboard test drives it): Swagger UI must work under the
 * page's CSP, and a key pasted into "Authorize" must not outlive the tab.
 */
describe('docs in a browser', () => {
  let stack: Stack;
  let browser: Browser;
  let key: string;

  beforeAll(async () => {
    stack = await startStack();
    ({ key } = await stack.newTenant());
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('docs - Swagger UI renders and calls the API under the CSP, and keeps no pasted key in localStorage', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    await page.goto(`${stack.base}/docs`);
    await page.waitForSelector('.opblock', { timeout: 20_000 });

    // The routes are grouped by area: one section per tag of the document, in its order.
    const document = (await (await fetch(`${stack.base}/v1/openapi.json`)).json()) as { tags: { name: string }[] };
    const sections = await page.locator('.opblock-tag').evaluateAll((tags) => tags.map((tag) => tag.getAttribute('data-tag')));
    expect(sections).toEqual(document.tags.map((tag) => tag.name));
    expect(sections.length).toBeGreaterThan(10);

    await page.click('button.authorize');
    await page.fill('.modal-ux input[type=text], .modal-ux input[type=password]', key);
    await page.click('.modal-ux button.authorize');
    await page.click('.modal-ux button.btn-done');

    // "Try it out" on GET /v1/me: the call goes out with the key and its answer is shown.
    const me = page.locator('.opblock', { has: page.locator('[data-path="/v1/me"]') }).first();
    await me.locator('.opblock-summary').click();
    await me.locator('button.try-out__btn').click();
    await me.locator('button.execute').click();
    await expect
      .poll(() => me.locator('.live-responses-table tbody .response-col_status').first().textContent(), { timeout: 15_000 })
      .toMatch(/200/);

    const stored = await page.evaluate<string>('JSON.stringify({ ...localStorage })');
    expect(stored).not.toContain(key);
    expect(stored).not.toContain('authorized');
    // A new tab of the same browser starts signed out.
    const again = await context.newPage();
    await again.goto(`${stack.base}/docs`);
    await again.waitForSelector('.opblock', { timeout: 20_000 });
    expect(await again.locator('button.authorize.locked').count()).toBe(0);
    expect(problems.filter((p) => /Content Security Policy|Refused/i.test(p))).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});
