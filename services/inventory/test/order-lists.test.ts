import { IdLists, newId } from '@allot/kit';
import { testEnv } from '@allot/kit/testing';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInventory } from '../src/service';
import { OrderStore } from '../src/store/orders';

// The open-orders limit and the supplier's callbacks find orders through lists read by `_id`;
// orders stored before the lists existed (an upgrade) are listed once.
describe('inventory - order lists', () => {
  const env = testEnv({ SUPPLIER_URL: 'http://127.0.0.1:9' });
  let running: Awaited<ReturnType<typeof startInventory>>;
  let mongo: MongoClient;
  beforeAll(async () => {
    running = await startInventory(env);
    mongo = await MongoClient.connect(env.MONGO_URL as string);
  });
  afterAll(async () => {
    await running.stop();
    await mongo.close();
  });

  it('orders stored before the lists existed: their open ones count for their user, and their supplier references find them', async () => {
    const db = mongo.db(env.MONGO_DB);
    const tenantId = newId('t');
    const order = (status: string, fields: Record<string, unknown>) => ({
      _id: newId('ord'),
      tenantId,
      userId: null,
      supplierRef: null,
      status,
      ...fields,
    });
    const waiting = order('awaiting_restock', { userId: 'ann', supplierRef: `ref-${tenantId}` });
    await db
      .collection('orders')
      .insertMany([
        waiting,
        order('reserved', { userId: 'ann' }),
        order('fulfilled', { userId: 'ann' }),
        order('pending', { userId: 'bob' }),
      ] as never[]);
    await db.collection('order_lists').deleteOne({ _id: 'listed-existing' } as never);

    // Until they are listed (lists of their own here, never filled), the orders themselves are asked.
    const { orders } = running.context;
    const unlisted = new OrderStore(orders.docs, IdLists.of(db, newId('lists')));
    expect(await unlisted.openOrdersOf(tenantId, 'ann')).toBe(2);
    expect((await unlisted.bySupplierRef(`ref-${tenantId}`))?._id).toBe(waiting._id);

    await orders.listExisting();

    expect(await orders.openOrdersOf(tenantId, 'ann')).toBe(2);
    expect(await orders.openOrdersOf(tenantId, 'bob')).toBe(1);
    expect((await orders.bySupplierRef(`ref-${tenantId}`))?._id).toBe(waiting._id);
    expect(await orders.bySupplierRef(`ref-unknown-${tenantId}`)).toBeNull();
  });

  it('a reference listed for an order that never stored it (a crash in between) finds nothing', async () => {
    const { orders } = running.context;
    const id = newId('ord');
    await mongo
      .db(env.MONGO_DB)
      .collection('orders')
      .insertOne({ _id: id, tenantId: newId('t'), status: 'pending', supplierRef: null } as never);
    await orders.listSupplierRef(id, `ref-${id}`);
    expect(await orders.bySupplierRef(`ref-${id}`)).toBeNull();
  });
});
