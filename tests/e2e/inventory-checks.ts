/** What every inventory test asserts about a SKU once its orders settled: through the gateway, as a client sees it. */
import { signCallback } from '@allot/supplier-sim';
import { expect } from 'vitest';
import { eventually, type Reply, type Stack } from './stack';

export const finalStatuses = ['fulfilled', 'failed', 'cancelled'];

type Client = ReturnType<Stack['as']>;

/** Every movement of a SKU, oldest first, across pages. */
export async function movementsOf(admin: Client, sku: string) {
  const all: { type: string; quantity: number; balanceAfter: number; orderId: string | null }[] = [];
  let cursor: string | null = null;
  do {
    const page: Reply = await admin('GET', `/v1/inventory/${sku}/movements?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    expect(page.status).toBe(200);
    all.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor);
  return all;
}

/**
 * The ledger balances (initial + Σ movements = quantity, no balance below 0, each line's balance
 * the running sum) and no order reserved or released twice.
 */
export async function expectLedgerBalances(admin: Client, sku: string) {
  const movements = await movementsOf(admin, sku);
  const quantity = (await admin('GET', `/v1/skus/${sku}`)).body.quantity;
  expect(movements[0]?.type).toBe('initial');
  let running = 0;
  for (const m of movements) {
    running += m.quantity;
    expect(m.balanceAfter).toBe(running);
    expect(m.balanceAfter).toBeGreaterThanOrEqual(0);
  }
  expect(running).toBe(quantity);
  for (const type of ['reserve', 'release']) {
    const ids = movements.filter((m) => m.type === type).map((m) => m.orderId);
    expect(new Set(ids).size).toBe(ids.length);
  }
  return { movements, quantity };
}

/** Waits until an order is in `status` (or any final state with `status` omitted) and returns it. */
export function orderReaches(client: Client, id: string, status?: string, timeoutMs = 15_000) {
  return eventually(async () => {
    const order = (await client('GET', `/v1/orders/${id}`)).body;
    return (status ? order?.status === status : finalStatuses.includes(order?.status)) && order;
  }, timeoutMs);
}

/** Waits until a SKU has at least `count` orders, every one final (or in one of `statuses`), listing them a page at a time, and returns them. */
export function ordersSettle(client: Client, sku: string, count: number, statuses = finalStatuses, timeoutMs = 45_000) {
  return eventually(
    async () => {
      const orders: { id: string; qty: number; status: string }[] = [];
      let cursor: string | null = null;
      do {
        const page: Reply = await client('GET', `/v1/orders?sku=${sku}&limit=200${cursor ? `&cursor=${cursor}` : ''}`);
        orders.push(...page.body.items);
        cursor = page.body.nextCursor;
      } while (cursor);
      return orders.length >= count && orders.every((o) => statuses.includes(o.status)) && orders;
    },
    timeoutMs,
    200,
  );
}

/** Sets the simulator's behaviour for a SKU. */
export async function scenario(stack: Stack, sku: string, body: Record<string, unknown>) {
  const res = await fetch(`${stack.supplierUrl}/_scenarios/${sku}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
}

/** The calls the simulator received for a SKU. */
export async function supplierCalls(stack: Stack, sku: string): Promise<{ method: string; path: string; status: number; at: string }[]> {
  const body = (await (await fetch(`${stack.supplierUrl}/_calls?sku=${sku}`)).json()) as {
    items: { method: string; path: string; status: number; at: string }[];
  };
  return body.items;
}

/** A supplier callback, signed as the simulator signs them, with `secret` (the stack's unless given). */
export function webhook(stack: Stack, body: unknown, secret = stack.webhookSecret, options: { id?: string; at?: Date } = {}) {
  const signed = signCallback(secret, body, options);
  return stack.as('')('POST', '/v1/webhooks/supplier', signed.body, signed.headers);
}

/** A SKU code unique to a test (tenants are unique too; the simulator is shared by a file's tests). */
export const skuCode = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}`;
