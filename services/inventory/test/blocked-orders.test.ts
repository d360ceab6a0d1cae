import { newId } from '@allot/kit';
import { testEnv } from '@allot/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supplierJobs } from '../src/jobs/supplier-jobs';
import { cancelOrder, createOrder, visibleOrder } from '../src/orders';
import { startInventory } from '../src/service';
import { createSku } from '../src/skus';

// What the job runner does when a supplier step runs out of attempts for a reason other than the
// supplier (which fails the order itself): the order names the dead letter it now waits on.
describe('inventory - orders blocked on a dead letter', () => {
  let running: Awaited<ReturnType<typeof startInventory>>;

  // The supplier never answers, and its retries are a long way off: the order stays pending.
  beforeAll(async () => {
    running = await startInventory(testEnv({ SUPPLIER_URL: 'http://127.0.0.1:9', SUPPLIER_RETRY_BASE_MS: '600000' }));
  });
  afterAll(() => running.stop());

  it('blocked - a waiting order whose step gave up names its dead letter until it moves on; a final order is left alone', async () => {
    const inv = running.context;
    const tenantId = newId('t');
    const actor = { kind: 'apiKey' as const, keyId: 'k' };
    await createSku(inv, tenantId, { sku: 'NONE', name: 'None', quantity: 0, reorderLevel: 0 });
    const order = await createOrder(inv, tenantId, actor, { sku: 'NONE', qty: 1 });
    expect(order).toMatchObject({ status: 'pending', blockedBy: null });

    const reserve = supplierJobs(inv).find((job) => job.kind === 'supplier-reserve');
    const giveUp = reserve?.options.onGiveUp;
    if (!giveUp) throw new Error('the supplier-reserve job tells its order nothing when it gives up');
    await giveUp({ orderId: order.id }, { deadLetterId: `job-supplier-reserve-${order.id}`, error: 'ledger unavailable' });
    const blocked = await visibleOrder(inv, tenantId, actor, order.id);
    expect(blocked.status).toBe('pending');
    expect(blocked.blockedBy).toMatchObject({ deadLetterId: `job-supplier-reserve-${order.id}`, error: 'ledger unavailable' });

    const cancelled = await cancelOrder(inv, tenantId, actor, order.id);
    expect(cancelled).toMatchObject({ status: 'cancelled', blockedBy: null });
    await giveUp({ orderId: order.id }, { deadLetterId: 'job-late', error: 'late' });
    expect((await visibleOrder(inv, tenantId, actor, order.id)).blockedBy).toBeNull();
  });
});
