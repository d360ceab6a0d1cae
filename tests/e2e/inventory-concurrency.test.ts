import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectLedgerBalances, ordersSettle, scenario, skuCode } from './inventory-checks';
import { type Stack, startStack } from './stack';

describe('inventory under concurrency', () => {
  let stack: Stack;

  beforeAll(async () => {
    // A generous deadline: this asserts what 200 racing orders leave behind, not how fast (that is the benchmark's).
    stack = await startStack({
      inventory: { SUPPLIER_CHECK_DELAY_MS: '100', SUPPLIER_RETRY_BASE_MS: '40' },
      gateway: { RPC_TIMEOUT_MS: '30000' },
    });
  });
  afterAll(() => stack.stop());

  it('concurrency - 200 simultaneous orders of 1–5 units on a SKU of 100: never oversold, the ledger balances, every order ends', async () => {
    const admin = stack.as((await stack.newTenant()).key);
    const sku = skuCode('HOT');
    expect((await admin('POST', '/v1/skus', { sku, name: 'Hot', quantity: 100 })).status).toBe(201);
    // What the stock cannot serve goes to the supplier, who rejects it: every order ends reserved or failed.
    await scenario(stack, sku, { reserve: 'reject' });
    const quantities = Array.from({ length: 200 }, (_, i) => 1 + (i % 5));
    const replies = await Promise.all(quantities.map((qty) => admin('POST', '/v1/orders', { sku, qty })));
    expect(replies.filter((r) => r.status !== 202).map((r) => `${r.status} ${r.text}`)).toEqual([]);

    const orders = await ordersSettle(admin, sku, 200, ['reserved', 'failed']);
    const reserved = orders.filter((o) => o.status === 'reserved');
    expect(orders.every((o) => o.status === 'reserved' || o.status === 'failed')).toBe(true);
    const taken = reserved.reduce((sum, o) => sum + o.qty, 0);
    const { quantity, movements } = await expectLedgerBalances(admin, sku);
    expect(taken).toBeLessThanOrEqual(100);
    expect(quantity).toBe(100 - taken);
    expect(movements.filter((m) => m.type === 'reserve')).toHaveLength(reserved.length);
    // Nothing is refused while it still fits: whatever failed was bigger than what was left.
    const smallestFailed = Math.min(...orders.filter((o) => o.status === 'failed').map((o) => o.qty));
    expect(smallestFailed).toBeGreaterThan(quantity);
  }, 60_000);

  it('concurrency - cancels racing fulfils and restocks: each order ends once, the stock moves once', async () => {
    const admin = stack.as((await stack.newTenant()).key);
    const sku = skuCode('RACE');
    expect((await admin('POST', '/v1/skus', { sku, name: 'Race', quantity: 60 })).status).toBe(201);
    const ids = (await Promise.all(Array.from({ length: 30 }, () => admin('POST', '/v1/orders', { sku, qty: 2 })))).map((r) => r.body.id);
    await ordersSettle(admin, sku, ids.length, ['reserved']);
    await Promise.all([
      ...ids.map((id) => admin('POST', `/v1/orders/${id}/cancel`)),
      ...ids.map((id) => admin('POST', `/v1/orders/${id}/fulfil`)),
      ...ids.map((id) => admin('POST', `/v1/orders/${id}/cancel`)),
      admin('POST', `/v1/skus/${sku}/restock`, { quantity: 7 }),
    ]);
    const orders = await ordersSettle(admin, sku, ids.length);
    const cancelled = orders.filter((o) => o.status === 'cancelled').length;
    const { quantity, movements } = await expectLedgerBalances(admin, sku);
    expect(movements.filter((m) => m.type === 'release')).toHaveLength(cancelled);
    expect(quantity).toBe(7 + cancelled * 2);
  }, 60_000);
});
