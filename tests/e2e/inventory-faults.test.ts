import type { ChildProcess } from 'node:child_process';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectLedgerBalances, ordersSettle, scenario, skuCode } from './inventory-checks';
import { eventually, type Stack, startServiceProcess, startStack } from './stack';

describe('inventory service killed mid-flow', () => {
  let stack: Stack;
  let child: ChildProcess | undefined;
  const env = { SUPPLIER_CHECK_DELAY_MS: '300', SUPPLIER_RETRY_BASE_MS: '100', REPAIR_AFTER_MS: '1500', SUPPLIER_TIMEOUT_MS: '1000' };

  beforeAll(async () => {
    stack = await startStack({ inventory: env, inventoryInProcess: false, gateway: { RPC_TIMEOUT_MS: '3000' } });
    child = await startServiceProcess(stack, 'inventory', env);
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await stack.stop();
  });

  it('faults - after SIGKILLs with orders in every state, every order ends and no stock moved twice', async () => {
    const admin = stack.as((await stack.newTenant()).key);
    const local = skuCode('LOCAL');
    const supplied = skuCode('SUPPLIED');
    const flaky = skuCode('FLAKY');
    for (const [sku, quantity] of [
      [local, 40],
      [supplied, 0],
      [flaky, 0],
    ] as const)
      expect((await admin('POST', '/v1/skus', { sku, name: sku, quantity })).status).toBe(201);
    await scenario(stack, supplied, { reserve: 'accept', statuses: ['delayed', 'ok'] });
    await scenario(stack, flaky, { reserve: 'error', latencyMs: 50 });

    const accepted = new Map<string, string>(); // order id → sku
    const workload = async (ms: number) => {
      const until = Date.now() + ms;
      const worker = async (n: number) => {
        for (let i = 0; Date.now() < until; i++) {
          const sku = [local, local, supplied, flaky][(n + i) % 4] as string;
          // A careful client: an idempotency key, and the same request again after a 503 (the service was down).
          const headers = { 'idempotency-key': `w${n}-${i}-${Date.now()}` };
          let res = await admin('POST', '/v1/orders', { sku, qty: 1 + ((n + i) % 3) }, headers);
          for (let retry = 0; res.status === 503 && retry < 20; retry++) {
            await new Promise((r) => setTimeout(r, 250));
            res = await admin('POST', '/v1/orders', { sku, qty: 1 + ((n + i) % 3) }, headers);
          }
          if (res.status === 202) accepted.set(res.body.id, sku);
          // Cancel some orders in whatever state they are in (409 for a final one is fine).
          if (res.status === 202 && i % 5 === 0) await admin('POST', `/v1/orders/${res.body.id}/cancel`);
          if (i % 7 === 0) await admin('POST', `/v1/skus/${local}/restock`, { quantity: 3 });
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, n) => worker(n)));
    };

    for (let round = 0; round < 3; round++) {
      const work = workload(1500);
      await new Promise((r) => setTimeout(r, 700 + round * 200));
      child?.kill('SIGKILL');
      await work;
      child = await startServiceProcess(stack, 'inventory', env);
    }
    await workload(500);

    expect(accepted.size).toBeGreaterThan(10);
    // Settled: the restarted service's sweep (REPAIR_AFTER_MS) has finished what the kills left half
    // done — no SKU has a change in flight, no cancelled order still waits for its stock to come back.
    const db = new MongoClient(inject('mongoUrl'));
    try {
      const inventory = db.db(stack.inventoryDb);
      // What is still unsettled: SKUs with changes in flight, orders to release or still waiting.
      const unsettled = async () => ({
        skus: await inventory
          .collection('skus')
          .find({ 'inflight.0': { $exists: true } }, { projection: { inflight: 1, waiting: 1 } })
          .toArray(),
        orders: await inventory
          .collection('orders')
          .find({ $or: [{ releasing: true }, { status: { $in: ['pending', 'awaiting_restock'] } }] })
          .toArray(),
      });
      await eventually(
        async () => {
          const { skus, orders } = await unsettled();
          return skus.length === 0 && orders.length === 0;
        },
        90_000,
        500,
        unsettled,
      );
    } finally {
      await db.close();
    }
    for (const sku of [local, supplied, flaky]) {
      const count = [...accepted.values()].filter((s) => s === sku).length;
      const orders = await ordersSettle(admin, sku, count, ['reserved', 'fulfilled', 'failed', 'cancelled'], 90_000);
      // Every accepted order is there, none is left pending or awaiting the supplier, and no order appeared twice.
      const listed = new Set(orders.map((o) => o.id));
      for (const [id, of] of accepted) if (of === sku) expect(listed.has(id)).toBe(true);
      const { movements } = await expectLedgerBalances(admin, sku);
      const reserves = new Set(movements.filter((m) => m.type === 'reserve').map((m) => m.orderId));
      for (const order of orders) {
        const history = (await admin('GET', `/v1/orders/${order.id}`)).body.history.map((h: { status: string }) => h.status);
        // A reserved order (or one cancelled after it was reserved) holds exactly one reserve movement.
        expect(reserves.has(order.id)).toBe(history.includes('reserved'));
      }
    }
  }, 180_000);
});
