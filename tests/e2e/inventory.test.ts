import { eventStream, eventSubject } from '@allot/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectLedgerBalances, orderReaches, scenario, skuCode, supplierCalls, webhook } from './inventory-checks';
import { eventually, messagesOn, openStream, type Stack, startStack } from './stack';

/** Supplier timings short enough for tests; the workflow is the one of services/inventory/README.md. */
const inventoryEnv = { SUPPLIER_CHECK_DELAY_MS: '150', SUPPLIER_RETRY_BASE_MS: '40', SUPPLIER_TIMEOUT_MS: '1000' };

describe('inventory through the gateway', () => {
  let stack: Stack;
  let admin: ReturnType<Stack['as']>;
  let key: string;

  beforeAll(async () => {
    stack = await startStack({ inventory: inventoryEnv, notifications: {} });
    ({ key } = await stack.newTenant());
    admin = stack.as(key);
  });
  afterAll(() => stack.stop());

  const newSku = async (name: string, quantity: number, reorderLevel = 0) => {
    const sku = skuCode(name);
    const res = await admin('POST', '/v1/skus', { sku, name, quantity, reorderLevel });
    expect(res.status).toBe(201);
    return sku;
  };
  const order = async (sku: string, qty: number, client = admin) => {
    const res = await client('POST', '/v1/orders', { sku, qty });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('pending');
    return res.body.id as string;
  };

  it('inventory - local stock: reserved with one reserve movement; fulfil; invalid transitions are 409', async () => {
    const sku = await newSku('LOCAL', 10);
    const id = await order(sku, 4);
    expect((await orderReaches(admin, id, 'reserved')).history.map((h: { status: string }) => h.status)).toEqual(['pending', 'reserved']);
    expect((await admin('GET', `/v1/skus/${sku}`)).body.quantity).toBe(6);
    expect((await admin('POST', `/v1/orders/${id}/fulfil`)).body.status).toBe('fulfilled');
    const again = await admin('POST', `/v1/orders/${id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('invalid_state');
    expect((await admin('POST', `/v1/orders/${id}/fulfil`)).status).toBe(409);
    const { movements, quantity } = await expectLedgerBalances(admin, sku);
    expect(movements.map((m) => m.type)).toEqual(['initial', 'reserve']);
    expect(quantity).toBe(6);
    expect(await supplierCalls(stack, sku)).toEqual([]);
  });

  it('inventory - cancel of a reserved order releases its stock with a release movement, once', async () => {
    const sku = await newSku('CANCEL', 5);
    const id = await order(sku, 5);
    await orderReaches(admin, id, 'reserved');
    const [first, second] = await Promise.all([admin('POST', `/v1/orders/${id}/cancel`), admin('POST', `/v1/orders/${id}/cancel`)]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    const { movements, quantity } = await expectLedgerBalances(admin, sku);
    expect(movements.map((m) => m.type)).toEqual(['initial', 'reserve', 'release']);
    expect(quantity).toBe(5);
    expect((await admin('POST', `/v1/orders/${id}/fulfil`)).status).toBe(409);
  });

  it('inventory - supplier accepts then ok: awaiting_restock, then reserved (the delivery is restocked and reserved)', async () => {
    const sku = await newSku('ACCEPT', 0);
    const id = await order(sku, 3);
    const done = await orderReaches(admin, id, 'reserved');
    expect(done.history.map((h: { status: string }) => h.status)).toEqual(['pending', 'awaiting_restock', 'reserved']);
    expect(done.supplierRef).toBeTruthy();
    expect(done.supplierChecks).toBe(1);
    const { movements, quantity } = await expectLedgerBalances(admin, sku);
    expect(movements.map((m) => m.type)).toEqual(['initial', 'restock', 'reserve']);
    expect(quantity).toBe(0);
  });

  it('inventory - accept, delayed, ok: reserved after the second check', async () => {
    const sku = await newSku('DELAYED-OK', 0);
    await scenario(stack, sku, { reserve: 'accept', statuses: ['delayed', 'ok'] });
    const done = await orderReaches(admin, await order(sku, 1), 'reserved');
    expect(done.supplierChecks).toBe(2);
  });

  it('inventory - delayed three times: failed supplier_delayed, with exactly 3 status calls', async () => {
    const sku = await newSku('DELAYED', 0);
    await scenario(stack, sku, { reserve: 'accept', statuses: ['delayed'] });
    const done = await orderReaches(admin, await order(sku, 2), 'failed');
    expect(done.history.at(-1).reason).toBe('supplier_delayed');
    const calls = await supplierCalls(stack, sku);
    expect(calls.filter((c) => c.method === 'GET')).toHaveLength(3);
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    await expectLedgerBalances(admin, sku);
  });

  it('inventory - the supplier rejects, or its status check fails: failed with the reason', async () => {
    const rejected = await newSku('REJECT', 0);
    await scenario(stack, rejected, { reserve: 'reject' });
    expect((await orderReaches(admin, await order(rejected, 1), 'failed')).history.at(-1).reason).toBe('supplier_rejected');
    const failing = await newSku('FAIL', 0);
    await scenario(stack, failing, { reserve: 'accept', statuses: ['fail'] });
    expect((await orderReaches(admin, await order(failing, 1), 'failed')).history.at(-1).reason).toBe('supplier_failed');
  });

  it('inventory - supplier errors are retried with growing delays, then failed supplier_unavailable with a dead letter', async () => {
    const sku = await newSku('DOWN', 0);
    await scenario(stack, sku, { reserve: 'error' });
    const done = await orderReaches(admin, await order(sku, 1), 'failed', 20_000);
    expect(done.history.at(-1).reason).toBe('supplier_unavailable');
    const calls = await supplierCalls(stack, sku);
    expect(calls).toHaveLength(6); // the first attempt and 5 retries
    const gaps = calls
      .slice(1)
      .map((c, i) => Date.parse((c as unknown as { at: string }).at) - Date.parse((calls[i] as unknown as { at: string }).at));
    expect(gaps.at(-1)).toBeGreaterThan(gaps[0] as number); // the waits grow (40 ms doubling)
    // The job's dead letter is its tenant's to see, retry and delete.
    const letters = await eventually(async () => {
      const res = await admin('GET', '/v1/admin/dead-letters?service=inventory');
      return res.body?.items?.find((l: { consumer: string }) => l.consumer === 'jobs-supplier-reserve');
    }, 20_000);
    expect(letters).toMatchObject({ service: 'inventory', status: 'dead' });
    expect(letters.error).toMatch(/supplier/i);
    const retried = await admin('POST', `/v1/admin/dead-letters/${letters.id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body.status).toBe('retried');
    expect((await admin('DELETE', `/v1/admin/dead-letters/${letters.id}`)).status).toBe(200);
  });

  it('inventory - webhook: a good signature applies at once, a bad one is 401, a final order is 200 and unchanged', async () => {
    const sku = await newSku('HOOK', 0);
    await scenario(stack, sku, { reserve: 'accept', statuses: ['delayed'] });
    const waiting = await orderReaches(admin, await order(sku, 2), 'awaiting_restock');
    const bad = await webhook(stack, { ref: waiting.supplierRef, status: 'ok' }, 'not-the-secret-at-all');
    expect(bad.status).toBe(401);
    expect((await admin('GET', `/v1/orders/${waiting.id}`)).body.status).toBe('awaiting_restock');
    const good = await webhook(stack, { ref: waiting.supplierRef, status: 'ok' });
    expect(good.status).toBe(200);
    expect(good.body).toEqual({ received: true, applied: true });
    expect((await admin('GET', `/v1/orders/${waiting.id}`)).body.status).toBe('reserved');
    const late = await webhook(stack, { ref: waiting.supplierRef, status: 'fail' });
    expect(late.status).toBe(200);
    expect((await admin('GET', `/v1/orders/${waiting.id}`)).body.status).toBe('reserved');
    await admin('POST', `/v1/orders/${waiting.id}/cancel`);
    const final = await webhook(stack, { ref: waiting.supplierRef, status: 'ok' });
    expect(final.status).toBe(200);
    expect(final.body.applied).toBe(false);
    expect((await admin('GET', `/v1/orders/${waiting.id}`)).body.status).toBe('cancelled');
    const { movements } = await expectLedgerBalances(admin, sku);
    expect(movements.map((m) => m.type)).toEqual(['initial', 'restock', 'reserve', 'release']);
    expect((await webhook(stack, { ref: waiting.supplierRef, status: 'maybe' })).status).toBe(400);
  });

  it('inventory - a restock serves waiting orders oldest first, before later orders', async () => {
    const sku = await newSku('FIFO', 0);
    await scenario(stack, sku, { reserve: 'accept', statuses: ['delayed', 'delayed', 'delayed', 'delayed'] });
    const waiting: string[] = [];
    for (const qty of [2, 3, 1]) waiting.push(await order(sku, qty));
    for (const id of waiting) await orderReaches(admin, id, 'awaiting_restock');
    const restocked = await admin('POST', `/v1/skus/${sku}/restock`, { quantity: 5, reason: 'delivery' });
    expect(restocked.status).toBe(200);
    const [a, b, c] = await Promise.all(waiting.map((id) => admin('GET', `/v1/orders/${id}`)));
    expect([a?.body.status, b?.body.status, c?.body.status]).toEqual(['reserved', 'reserved', 'awaiting_restock']);
    const { movements } = await expectLedgerBalances(admin, sku);
    expect(movements.filter((m) => m.type === 'reserve').map((m) => m.orderId)).toEqual(waiting.slice(0, 2));
    expect(restocked.body.quantity).toBe(0);
  });

  it('inventory - adjust never below 0; stock.low_detected once per crossing', async () => {
    const { tenantId, key: ownKey } = await stack.newTenant(); // its own tenant: its events alone
    const own = stack.as(ownKey);
    const sku = skuCode('ADJ');
    expect((await own('POST', '/v1/skus', { sku, name: 'Adjusted', quantity: 5, reorderLevel: 3 })).status).toBe(201);
    const adjust = (delta: number) => own('POST', `/v1/skus/${sku}/adjust`, { delta, reason: 'count' });
    expect((await adjust(-6)).status).toBe(409);
    expect((await adjust(-3)).body.quantity).toBe(2); // crosses below 3
    expect((await adjust(-1)).body.quantity).toBe(1); // still below: no second event
    expect((await adjust(+4)).body.quantity).toBe(5); // back above: re-armed
    expect((await adjust(-4)).body.quantity).toBe(1); // crosses again
    const { movements } = await expectLedgerBalances(own, sku);
    expect(movements.map((m) => m.type)).toEqual(['initial', 'adjust', 'adjust', 'adjust', 'adjust']);
    const low = await messagesOn(stack.natsUrl, eventStream('inventory'), eventSubject('inventory', tenantId, 'stock.low_detected'));
    expect(low).toHaveLength(2);
  });

  it('inventory - bad input is 400 naming the field, unknown SKU 422, nothing written', async () => {
    const sku = await newSku('VALID', 3);
    const bad = await admin('POST', '/v1/orders', { sku, qty: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toContain('qty');
    expect((await admin('POST', '/v1/skus', { sku: 'bad sku!', name: 'x', quantity: 1 })).body.errors[0].path).toBe('sku');
    expect((await admin('POST', `/v1/skus/${sku}/restock`, { quantity: -1 })).body.errors[0].path).toBe('quantity');
    const unknown = await admin('POST', '/v1/orders', { sku: 'NOPE-404', qty: 1 });
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('unknown_sku');
    expect((await admin('POST', '/v1/skus', { sku, name: 'again', quantity: 1 })).status).toBe(409);
    expect((await admin('GET', '/v1/orders')).body.items.filter((o: { sku: string }) => o.sku === sku)).toEqual([]);
    expect((await expectLedgerBalances(admin, sku)).movements).toHaveLength(1);
  });

  it('inventory - tenancy: another tenant sees 404; a user sees only its own orders; a retried create returns the same order', async () => {
    const sku = await newSku('TENANT', 10);
    const id = await order(sku, 1);
    const other = stack.as((await stack.newTenant()).key);
    expect((await other('GET', `/v1/orders/${id}`)).status).toBe(404);
    expect((await other('GET', `/v1/skus/${sku}`)).status).toBe(404);
    expect((await other('POST', '/v1/orders', { sku, qty: 1 })).status).toBe(422);
    expect((await other('POST', `/v1/orders/${id}/cancel`)).status).toBe(404);

    const alice = stack.as(await stack.userToken(key, 'alice'));
    const bob = stack.as(await stack.userToken(key, 'bob'));
    const mine = await order(sku, 1, alice);
    expect((await bob('GET', `/v1/orders/${mine}`)).status).toBe(404);
    expect((await bob('POST', `/v1/orders/${mine}/cancel`)).status).toBe(404);
    expect((await alice('GET', '/v1/orders')).body.items.map((o: { id: string }) => o.id)).toEqual([mine]);
    expect((await alice('POST', `/v1/orders/${mine}/fulfil`)).status).toBe(403);

    const headers = { 'idempotency-key': `k-${sku}` };
    const first = await admin('POST', '/v1/orders', { sku, qty: 2 }, headers);
    const replay = await admin('POST', '/v1/orders', { sku, qty: 2 }, headers);
    expect(replay.body.id).toBe(first.body.id);
    const { movements } = await expectLedgerBalances(admin, sku);
    expect(movements.filter((m) => m.orderId === first.body.id)).toHaveLength(1);
  });

  it('inventory - limits: a user token has at most maxOpenOrdersPerUser open orders, so it cannot pile up supplier reservations; a finished order frees a place; API keys are not limited', async () => {
    const own = await stack.newTenant();
    const boss = stack.as(own.key);
    const sku = skuCode('SCARCE');
    expect((await boss('POST', '/v1/skus', { sku, name: 'Scarce', quantity: 0 })).status).toBe(201);
    await scenario(stack, sku, { reserve: 'accept', statuses: ['delayed'] });
    // One object with every service's part: the order limit beside the hoarding limits of bookings.
    const limits = (await boss('PATCH', '/v1/limits', { maxOpenOrdersPerUser: 2 })).body;
    expect(limits).toMatchObject({ maxOpenOrdersPerUser: 2, maxPartySize: 50 });
    expect((await boss('GET', '/v1/limits')).body).toEqual(limits);

    const hoarder = stack.as(await stack.userToken(own.key, 'hoarder'));
    expect((await hoarder('PATCH', '/v1/limits', { maxOpenOrdersPerUser: 1000 })).status).toBe(403);
    const first = await order(sku, 1, hoarder);
    await order(sku, 1, hoarder);
    const third = await hoarder('POST', '/v1/orders', { sku, qty: 1 });
    expect(third.status).toBe(409);
    expect(third.body).toMatchObject({ code: 'conflict', limit: 'maxOpenOrdersPerUser', maxOpenOrdersPerUser: 2, openOrders: 2 });
    expect((await hoarder('GET', '/v1/orders')).body.items).toHaveLength(2);
    await eventually(async () => (await supplierCalls(stack, sku)).filter((c) => c.path === '/reserve').length === 2);

    // Another user, and the tenant's own API key, are not held back by this user's orders.
    await order(sku, 1, stack.as(await stack.userToken(own.key, 'neighbour')));
    await order(sku, 1, boss);
    await order(sku, 1, boss);

    await orderReaches(hoarder, first, 'awaiting_restock');
    expect((await hoarder('POST', `/v1/orders/${first}/cancel`)).status).toBe(200);
    await order(sku, 1, hoarder);
    expect(await supplierCalls(stack, sku).then((calls) => calls.filter((c) => c.path === '/reserve').length)).toBeLessThanOrEqual(6);
  });

  it('inventory - SSE: API keys see order.updated on orders; a user sees its own on user', async () => {
    const sku = await newSku('SSE', 10);
    const token = await stack.userToken(key, 'carol');
    const orders = openStream(`${stack.base}/v1/stream?channels=orders`, { authorization: `Bearer ${key}` });
    const user = openStream(`${stack.base}/v1/stream?channels=user`, { authorization: `Bearer ${token}` });
    try {
      expect((await orders.response).status).toBe(200);
      expect((await user.response).status).toBe(200);
      const theirs = await order(sku, 1);
      const mine = await order(sku, 2, stack.as(token));
      const seen = (stream: typeof orders, id: string, status: string) =>
        stream.events.some((e) => e.event === 'order.updated' && JSON.parse(e.data).id === id && JSON.parse(e.data).status === status);
      await eventually(() => seen(orders, theirs, 'reserved') && seen(orders, mine, 'reserved'));
      await eventually(() => seen(user, mine, 'reserved'));
      expect(user.events.some((e) => e.data.includes(theirs))).toBe(false);
      expect(JSON.parse(orders.events.find((e) => e.data.includes(mine))?.data ?? '{}')).toMatchObject({ id: mine, sku, qty: 2 });
    } finally {
      orders.close();
      user.close();
    }
  });
});
