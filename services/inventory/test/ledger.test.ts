import { eventSubject, type Order } from '@allot/contracts';
import { newId } from '@allot/kit';
import { testEnv } from '@allot/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrder, release } from '../src/orders';
import { startInventory } from '../src/service';
import { changeStock, createSku } from '../src/skus';
import { skuKey } from '../src/store/skus';

describe('inventory stock ledger', () => {
  let running: Awaited<ReturnType<typeof startInventory>>;

  // No supplier is asked here: every order finds its stock.
  beforeAll(async () => {
    running = await startInventory(testEnv({ SUPPLIER_URL: 'http://127.0.0.1:9' }));
  });
  afterAll(() => running.stop());

  it('ledger - a cancelled order released by its cancel and the sweep at once gets its stock back once', async () => {
    const inv = running.context;
    const tenantId = newId('t');
    await createSku(inv, tenantId, { sku: 'TWICE', name: 'Twice', quantity: 10, reorderLevel: 0 });
    const order = await createOrder(inv, tenantId, { kind: 'apiKey', keyId: 'k' }, { sku: 'TWICE', qty: 4 });
    const reserved = await inv.orders.get(tenantId, order.id);
    if (!reserved) throw new Error('order not written');
    const event = (o: typeof order) => inv.event(tenantId, 'order.cancelled', { order: o, reason: null });
    const cancelled = await inv.orders.transition(reserved, 'cancelled', new Date().toISOString(), null, event, { releasing: true });
    if (!cancelled) throw new Error('not cancelled');

    // The restock is written alone; the releases queue behind it and are decided in one batch.
    const restock = changeStock(inv, tenantId, 'TWICE', { kind: 'restock', quantity: 1, reason: null });
    await Promise.all([restock, release(inv, cancelled), release(inv, cancelled), release(inv, cancelled)]);
    await release(inv, cancelled);

    const sku = await inv.ledger.skus.byKey(skuKey(tenantId, 'TWICE'));
    expect(sku?.quantity).toBe(11);
    const movements = await inv.movements.list(tenantId, 'TWICE', 10);
    expect(movements.map((m) => m.type)).toEqual(['initial', 'reserve', 'restock', 'release']);
    expect((await inv.orders.get(tenantId, order.id))?.releasing).toBeUndefined();
  });

  /**
   * An order of 2 waiting on a new SKU with no stock, whose batch is written and whose other half
   * then fails (as a crash would leave it): the order is not stored yet.
   */
  async function orderLeftUnstored(tenantId: string, sku: string) {
    const inv = running.context;
    await createSku(inv, tenantId, { sku, name: sku, quantity: 0, reorderLevel: 0 });
    const insertMany = inv.orders.insertMany;
    inv.orders.insertMany = () => Promise.reject(new Error('crashed before the order was stored'));
    return createOrder(inv, tenantId, { kind: 'apiKey', keyId: 'k' }, { sku, qty: 2 }).finally(() => {
      inv.orders.insertMany = insertMany;
    });
  }

  it('faults - a waiting order settled before its creation was finished ends as settled, not waiting', async () => {
    const inv = running.context;
    const tenantId = newId('t');
    const order = await orderLeftUnstored(tenantId, 'LATE');
    expect(await inv.orders.get(tenantId, order.id)).toBeNull();

    // A restock serves the waiting order before the sweep finished its creation.
    await changeStock(inv, tenantId, 'LATE', { kind: 'restock', quantity: 5, reason: null });
    await new Promise((r) => setTimeout(r, 5));
    await inv.ledger.finishStale(0);

    expect((await inv.orders.get(tenantId, order.id))?.status).toBe('reserved');
    const sku = await inv.ledger.skus.byKey(skuKey(tenantId, 'LATE'));
    expect(sku?.quantity).toBe(3);
    expect(sku?.waiting).toEqual([]);
  });

  it('faults - the event of a waiting order settled before its creation was finished names the stored order, even when the relay comes first', async () => {
    const inv = running.context;
    const { service } = running;
    const tenantId = newId('t');
    const order = await orderLeftUnstored(tenantId, 'EARLY');
    await changeStock(inv, tenantId, 'EARLY', { kind: 'restock', quantity: 5, reason: null });

    // The relay's sweep publishes the restock's events before the ledger's sweep finished the batches.
    const heard = service.nc.subscribe(eventSubject('inventory', tenantId, 'order.reserved'), { max: 1 });
    await service.nc.flush();
    await service.outbox.sweep();
    let message: { data: { order: Order } } | undefined;
    for await (const m of heard) message = m.json();
    expect(message?.data.order).toMatchObject({ id: order.id, status: 'reserved' });
    expect(message?.data.order.history.map((h) => h.status)).toEqual(['pending', 'reserved']);
    expect((await inv.orders.get(tenantId, order.id))?.status).toBe('reserved');
  });
});
