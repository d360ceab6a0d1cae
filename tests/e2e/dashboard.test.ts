import { mkdirSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import path from 'node:path';
import { createAllotClient } from '@allot/client';
import { startWebhookReceiver, type WebhookReceiver } from '@allot/webhook-receiver';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderReaches, scenario, skuCode, webhook } from './inventory-checks';
import { eventually, type Stack, startStack, today } from './stack';

const artifacts = path.resolve(__dirname, '../../.cache/artifacts');

/**
 * The dashboard at `/` in Debian's Chromium (driven by playwright-core; `make test` installs the
 * browser, nothing is downloaded): signing in, the grid loaded in range pages and following bookings
 * made elsewhere, orders following the stream, booking from the page, and the webhooks panel
 * (deliveries, resend), an import previewed and confirmed, a report downloaded. Screenshots go to
 * `.cache/artifacts/`.
 */
describe('dashboard in a browser', () => {
  let stack: Stack;
  let browser: Browser;
  let key: string;
  let client: ReturnType<typeof createAllotClient>;
  let receiver: WebhookReceiver;
  const sessionIds: string[] = [];

  beforeAll(async () => {
    stack = await startStack({
      notifications: {},
      availability: true,
      inventory: { SUPPLIER_CHECK_DELAY_MS: '150', SUPPLIER_RETRY_BASE_MS: '40', SUPPLIER_TIMEOUT_MS: '1000' },
      webhooks: {},
    });
    receiver = await startWebhookReceiver();
    ({ key } = await stack.newTenant());
    client = createAllotClient({ baseUrl: stack.base, credential: key });
    for (const [name, maxCapacity] of [
      ['Morning tour 09:00', 10],
      ['Afternoon tour 14:00', 12],
      ['Sunset cruise 19:00', 6],
    ] as const) {
      sessionIds.push((await client.POST('/v1/sessions', { body: { name, maxCapacity } })).data!.id);
    }
    // A little history so the page has something to show.
    await client.POST('/v1/bookings', { body: { sessionId: sessionIds[1]!, date: today(1), adults: 8 } });
    await client.POST('/v1/bookings', { body: { sessionId: sessionIds[2]!, date: today(2), adults: 6 } });
    await client.POST('/v1/bookings', { body: { sessionId: sessionIds[0]!, date: today(3), adults: 2, hold: true } });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    mkdirSync(artifacts, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await receiver?.close();
  });

  /** Opens the dashboard (at `base`: the gateway, or a proxy in front of it) and signs in. */
  const signIn = async (secret: string, base = stack.base) => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(base);
    await page.fill('input[name=credential]', secret);
    await page.click('button[type=submit]');
    await page.waitForSelector('#live.open', { timeout: 15_000 });
    return { page, errors };
  };
  const cell = (page: Page, sessionId: string, date: string) =>
    page.locator(`td[data-session="${sessionId}"][data-date="${date}"] .cell-available`);

  it('dashboard - the sign-in page explains itself and refuses a credential the gateway does not know', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(stack.base);
    await expect.poll(() => page.locator('.help').textContent()).toContain('make dev');
    await page.fill('input[name=credential]', `allot_${'a'.repeat(16)}_${'b'.repeat(43)}`);
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('.message.error').textContent()).toContain('refused');
    await page.screenshot({ path: path.join(artifacts, 'sign-in.png') });
    await page.close();
  });

  it('dashboard - the webhooks panel shows the endpoint, its deliveries as they are made, and resends one', async () => {
    // A tenant of its own, so the other tests' grid stays as it is.
    const own = await stack.newTenant();
    const tenant = createAllotClient({ baseUrl: stack.base, credential: own.key });
    const hook = `${receiver.url}/hooks/accept/dashboard`;
    const endpoint = await tenant.POST('/v1/webhooks/endpoints', {
      body: { url: hook, description: 'CRM', eventTypes: ['session.created'] },
    });
    expect(endpoint.response.status).toBe(201);
    const session = await tenant.POST('/v1/sessions', { body: { name: 'Evening walk', maxCapacity: 4 } });
    expect(session.response.status).toBe(201);
    const [first] = await eventually(
      () => receiver.received('/hooks/accept/dashboard').length === 1 && receiver.received('/hooks/accept/dashboard'),
    );
    const messageId = first!.headers['webhook-id']!;

    const { page, errors } = await signIn(own.key);
    const panel = page.locator('.webhooks');
    await expect.poll(() => panel.locator(`[data-endpoint="${endpoint.data!.id}"]`).textContent(), { timeout: 10_000 }).toContain('CRM');
    const row = panel.locator(`[data-message="${messageId}"]`);
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 10_000 }).toBe('delivered');
    await expect.poll(() => row.textContent()).toContain('session.created');
    await row.locator('button', { hasText: 'Resend' }).click();
    const again = await eventually(
      () => receiver.received('/hooks/accept/dashboard').length === 2 && receiver.received('/hooks/accept/dashboard'),
    );
    expect(again[1]!.headers['webhook-id']).toBe(messageId);
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain('2 attempts');
    await panel.screenshot({ path: path.join(artifacts, 'webhooks-panel.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('dashboard - an import is previewed with its counts and refused rows, confirmed, and its end arrives on the stream', async () => {
    const { page, errors } = await signIn(key);
    const code = `imp-${Date.now()}`;
    const csv = `sku,name,quantity,unitCost\n${code}-a,Lamp,5,12.5\n${code}-b,Rope,20,\n${code}-c,Tent,many,\n`;
    await page.selectOption('.imports select[name=type]', 'skus');
    await page.setInputFiles('.imports input[name=file]', { name: 'stock.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.click('.imports button[type=submit]');
    const status = page.locator('.imports .import-status p');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 20_000 }).toBe('previewed');
    expect(await status.textContent()).toContain('2 to create, 0 to update, 0 unchanged, 1 refused');
    const refused = page.locator('.imports table.errors tbody tr');
    expect(await refused.count()).toBe(1);
    expect(await refused.first().locator('td').allTextContents()).toEqual(['4', 'quantity', 'many', expect.any(String)]);
    expect((await client.GET('/v1/skus/{sku}', { params: { path: { sku: `${code}-a` } } })).response.status).toBe(404);

    await page.click('.imports button:has-text("Confirm import")');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 20_000 }).toBe('completed');
    expect(await status.textContent()).toContain('2 created');
    expect((await client.GET('/v1/skus/{sku}', { params: { path: { sku: `${code}-b` } } })).data).toMatchObject({ quantity: 20 });
    await page.screenshot({ path: path.join(artifacts, 'dashboard-import.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('dashboard - an import and a report that end before the page reads the answer starting them are still shown ended', async () => {
    const { page, errors } = await signIn(key);
    // The answers to the upload, the confirmation and the report's request reach the page only
    // after the job has ended and said so on the stream.
    const late = (ms: number) => async (route: import('playwright-core').Route) => {
      const response = await route.fetch();
      await new Promise((resolve) => setTimeout(resolve, ms));
      await route.fulfill({ response });
    };
    await page.route('**/v1/imports', late(4000));
    await page.route('**/v1/imports/*/confirm', late(4000));
    await page.route('**/v1/reports', late(4000));
    const code = `late-${Date.now()}`;
    await page.selectOption('.imports select[name=type]', 'skus');
    const csv = `sku,name,quantity\n${code}-a,Lamp,5\n`;
    await page.setInputFiles('.imports input[name=file]', { name: 'late.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.click('.imports button[type=submit]');
    const status = page.locator('.imports .import-status p');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 20_000 }).toBe('previewed');
    await page.click('.imports button:has-text("Confirm import")');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 20_000 }).toBe('completed');

    await page.selectOption('.reports select[name=type]', 'bookings');
    await page.click('.reports button[type=submit]');
    const report = page.locator('.reports .report-status p');
    await expect.poll(() => report.getAttribute('data-status'), { timeout: 30_000 }).toBe('ready');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('dashboard - a report is asked for, followed on the stream until ready, and downloaded', async () => {
    const { page, errors } = await signIn(key);
    await page.selectOption('.reports select[name=type]', 'bookings');
    await page.selectOption('.reports select[name=format]', 'csv');
    await page.click('.reports button[type=submit]');
    const status = page.locator('.reports .report-status p');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 30_000 }).toBe('ready');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('.reports button:has-text("Download")')]);
    expect(download.suggestedFilename()).toMatch(/\.csv$/);
    const file = await download.createReadStream();
    let text = '';
    for await (const chunk of file) text += chunk;
    const [header, ...rows] = text.trim().split(/\r?\n/);
    expect(header).toContain('bookingId');
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('dashboard - a booking made through the API changes the grid within a second', async () => {
    const { page, errors } = await signIn(key);
    const date = today(4);
    const target = cell(page, sessionIds[0]!, date);
    await expect.poll(() => target.textContent(), { timeout: 10_000 }).toBe('10');
    await expect.poll(() => cell(page, sessionIds[1]!, today(1)).textContent(), { timeout: 10_000 }).toBe('4');

    const booked = await client.POST('/v1/bookings', { body: { sessionId: sessionIds[0]!, date, adults: 3 } });
    expect(booked.response.status).toBe(201);
    // Measured from the API's answer: the event travels capacity → gateway → SSE → page → grid.
    await target.filter({ hasText: /^7$/ }).waitFor({ timeout: 1000 });
    await expect.poll(() => page.locator(`[data-booking="${booked.data!.id}"]`).count()).toBe(1);

    await page.waitForTimeout(1300); // let the changed cell's highlight fade before the picture
    await page.screenshot({ path: path.join(artifacts, 'dashboard.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('dashboard - the first load reads the grid in range pages, not a request per cell, and an order changes status live', async () => {
    // A tenant with more sessions than one range page holds (50).
    const tenant = await stack.newTenant();
    const admin = createAllotClient({ baseUrl: stack.base, credential: tenant.key });
    const ids: string[] = [];
    for (let i = 0; i < 51; i += 10)
      ids.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(10, 51 - i) }, (_, j) =>
            admin
              .POST('/v1/sessions', { body: { name: `Slot ${String(i + j).padStart(2, '0')}`, maxCapacity: 5 } })
              .then((r) => r.data!.id),
          ),
        )),
      );
    const from = today();
    const to = today(13);
    const rangePages = async () => {
      let pages = 0;
      let sessions = 0;
      let cursor: string | undefined;
      do {
        const { data } = await admin.GET('/v1/availability/range', {
          params: { query: { from, to, limit: 50, ...(cursor ? { cursor } : {}) } },
        });
        const first = Object.values(data!.dates)[0] as { items: unknown[] };
        pages++;
        sessions += first.items.length;
        cursor = data!.nextCursor ?? undefined;
      } while (cursor);
      return { pages, sessions };
    };
    // The availability service learns of sessions from their events.
    await expect.poll(rangePages, { timeout: 15_000 }).toEqual({ pages: 2, sessions: 51 });

    const requests: string[] = [];
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('request', (request) => requests.push(new URL(request.url()).pathname + new URL(request.url()).search));
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(stack.base);
    await page.fill('input[name=credential]', tenant.key);
    await page.click('button[type=submit]');
    await page.waitForSelector('#live.open', { timeout: 15_000 });
    // Every cell filled, the last session's (on the second page) too.
    await expect.poll(() => page.locator('td.cell.loading').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => cell(page, ids[50]!, to).textContent()).toBe('5');

    const availabilityReads = requests.filter((r) => r.startsWith('/v1/availability') || r.startsWith('/v1/capacity/check'));
    expect(availabilityReads).toHaveLength(2);
    expect(availabilityReads.every((r) => r.startsWith('/v1/availability/range?'))).toBe(true);
    expect(availabilityReads[1]).toContain('cursor=');

    const sku = skuCode('DASH');
    expect((await admin.POST('/v1/skus', { body: { sku, name: 'Dash kit', quantity: 0, reorderLevel: 0 } })).response.status).toBe(201);
    await scenario(stack, sku, { reserve: 'accept', statuses: ['delayed'] });
    const placed = await admin.POST('/v1/orders', { body: { sku, qty: 2 } });
    expect(placed.response.status).toBe(202);
    // Placed after the page loaded: it appears, and changes, from the stream alone.
    const waiting = await orderReaches(stack.as(tenant.key), placed.data!.id, 'awaiting_restock');

    const order = page.locator(`[data-order="${waiting.id}"] .badge`);
    await expect.poll(() => order.textContent(), { timeout: 5000 }).toBe('awaiting restock');
    // The supplier's signed callback reserves it: the page hears order.updated on the stream.
    expect((await webhook(stack, { ref: waiting.supplierRef, status: 'ok' })).status).toBe(200);
    await expect.poll(() => order.textContent(), { timeout: 5000 }).toBe('reserved');
    expect(requests.filter((r) => r.startsWith('/v1/orders'))).toHaveLength(1);
    await page.screenshot({ path: path.join(artifacts, 'dashboard-orders.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('dashboard - hold, confirm and cancel from the page; a user sees its own notifications arrive', async () => {
    const token = await stack.userToken(key, 'dana');
    const { page, errors } = await signIn(token);
    const date = today(5);
    const target = cell(page, sessionIds[2]!, date);
    await expect.poll(() => target.textContent(), { timeout: 10_000 }).toBe('6');

    await target.click();
    await page.fill('input[name=adults]', '2');
    await page.click('button[name=hold]');
    const row = page.locator('[data-booking]').filter({ hasText: 'Sunset cruise' }).first();
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 5000 }).toBe('held');
    await expect.poll(() => target.textContent(), { timeout: 5000 }).toBe('4');

    await row.getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 5000 }).toBe('confirmed');
    // booking.confirmed → the notifications service → the user's stream → the inbox.
    await expect.poll(() => page.locator('.count').getAttribute('data-unread'), { timeout: 10_000 }).toBe('1');

    await row.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => row.locator('.badge').textContent(), { timeout: 5000 }).toBe('cancelled');
    await expect.poll(() => target.textContent(), { timeout: 5000 }).toBe('6');
    await expect.poll(() => page.locator('.count').getAttribute('data-unread'), { timeout: 10_000 }).toBe('2');

    await page.getByRole('button', { name: 'Mark all read' }).click();
    await expect.poll(() => page.locator('.count').getAttribute('data-unread'), { timeout: 5000 }).toBe('0');
    await page.screenshot({ path: path.join(artifacts, 'dashboard-user.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('dashboard - after a dropped connection the page catches up on what it missed', async () => {
    // The page talks to the gateway through a proxy that can cut every connection, as a flaky network would.
    const proxy = await cuttingProxy(new URL(stack.base).port);
    const { page, errors } = await signIn(key, proxy.url);
    const date = today(6);
    const target = cell(page, sessionIds[1]!, date);
    await expect.poll(() => target.textContent(), { timeout: 10_000 }).toBe('12');

    const bookWhileCut = async (adults: number, leftAfter: string) => {
      proxy.cut({ refuseNew: true });
      await page.waitForSelector('#live.reconnecting', { timeout: 10_000 });
      const before = await target.textContent();
      const booked = await client.POST('/v1/bookings', { body: { sessionId: sessionIds[1]!, date, adults } });
      expect(booked.response.status).toBe(201);
      await page.waitForTimeout(300);
      expect(await target.textContent()).toBe(before);
      proxy.restore();
      await page.waitForSelector('#live.open', { timeout: 15_000 });
      await expect.poll(() => target.textContent(), { timeout: 5000 }).toBe(leftAfter);
      await expect.poll(() => page.locator(`[data-booking="${booked.data!.id}"]`).count()).toBe(1);
    };
    // No message had reached the page yet: it has no position to resume from, so it reloads.
    await bookWhileCut(5, '7');
    // A message reached it: it resumes with Last-Event-ID and the gateway replays what it missed.
    await client.POST('/v1/bookings', { body: { sessionId: sessionIds[1]!, date, adults: 1 } });
    await expect.poll(() => target.textContent(), { timeout: 5000 }).toBe('6');
    const resumed = page.waitForRequest((request) => request.url().includes('/v1/stream') && !!request.headers()['last-event-id']);
    await bookWhileCut(2, '4');
    expect((await resumed).headers()['last-event-id']).toMatch(/^\d+$/);
    expect(errors).toEqual([]);
    await page.close();
    await proxy.close();
  });
});

/** A TCP proxy to the gateway whose connections the test can cut, and whose door it can shut for a while. */
async function cuttingProxy(targetPort: string) {
  const sockets = new Set<Socket>();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = connect(Number(targetPort), '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut({ refuseNew }: { refuseNew: boolean }) {
      refusing = refuseNew;
      for (const socket of sockets) socket.destroy();
    },
    restore: () => {
      refusing = false;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
