import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectLedgerBalances, orderReaches, scenario, skuCode, webhook } from './inventory-checks';
import { type Stack, startStack } from './stack';

/** The supplier's signed callbacks (Standard Webhooks), from the simulator through the gateway to inventory. */
describe('supplier webhook through the gateway', () => {
  let stack: Stack;
  let admin: ReturnType<Stack['as']>;

  beforeAll(async () => {
    stack = await startStack({ inventory: { SUPPLIER_CHECK_DELAY_MS: '150', SUPPLIER_RETRY_BASE_MS: '40', SUPPLIER_TIMEOUT_MS: '1000' } });
    admin = stack.as((await stack.newTenant()).key);
  });
  afterAll(() => stack.stop());

  /** An order waiting on the supplier (the simulator answers every check "delayed"). */
  async function waitingOrder(name: string) {
    const sku = skuCode(name);
    expect((await admin('POST', '/v1/skus', { sku, name, quantity: 0, reorderLevel: 0 })).status).toBe(201);
    await scenario(stack, sku, { reserve: 'accept', statuses: ['delayed'] });
    const created = await admin('POST', '/v1/orders', { sku, qty: 2 });
    expect(created.status).toBe(202);
    return { sku, order: await orderReaches(admin, created.body.id, 'awaiting_restock') };
  }

  it('supplier webhook - a signed call applies once; a replay of its webhook-id is refused with 409 and changes nothing', async () => {
    const { sku, order } = await waitingOrder('ONCE');
    const id = `msg_once_${order.id}`;
    const first = await webhook(stack, { ref: order.supplierRef, status: 'ok' }, stack.webhookSecret, { id });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ received: true, applied: true });
    expect((await admin('GET', `/v1/orders/${order.id}`)).body.status).toBe('reserved');
    const before = await expectLedgerBalances(admin, sku);

    const replay = await webhook(stack, { ref: order.supplierRef, status: 'ok' }, stack.webhookSecret, { id });
    expect(replay.status).toBe(409);
    expect(replay.body).toMatchObject({ code: 'conflict', webhookId: id });
    // Even re-signed with a fresh timestamp, the id was received: refused.
    const resigned = await webhook(stack, { ref: order.supplierRef, status: 'fail' }, stack.webhookSecret, { id, at: new Date() });
    expect(resigned.status).toBe(409);
    expect((await admin('GET', `/v1/orders/${order.id}`)).body.status).toBe('reserved');
    expect((await expectLedgerBalances(admin, sku)).movements).toEqual(before.movements);
  });

  it('supplier webhook - a stale or tampered call is refused and the order keeps waiting', async () => {
    const { order } = await waitingOrder('STALE');
    const stale = await webhook(stack, { ref: order.supplierRef, status: 'ok' }, stack.webhookSecret, {
      at: new Date(Date.now() - 6 * 60_000),
    });
    expect(stale.status).toBe(401);
    expect(stale.body.reason).toBe('stale_timestamp');
    const forged = await webhook(
      stack,
      { ref: order.supplierRef, status: 'ok' },
      `whsec_${Buffer.from('not the secret, not at all').toString('base64')}`,
    );
    expect(forged.status).toBe(401);
    expect(forged.body.reason).toBe('bad_signature');
    expect((await admin('GET', `/v1/orders/${order.id}`)).body.status).toBe('awaiting_restock');
  });

  it('supplier webhook - the simulator sends signed callbacks the gateway accepts (POST /_callbacks)', async () => {
    const { order } = await waitingOrder('SIM');
    const res = await fetch(`${stack.supplierUrl}/_callbacks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ref: order.supplierRef, status: 'ok' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 200, body: { received: true, applied: true } });
    expect((await admin('GET', `/v1/orders/${order.id}`)).body.status).toBe('reserved');
  });
});
