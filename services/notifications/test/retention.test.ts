import { notificationsRpc, type Order } from '@allot/contracts';
import { EventPublisher, makeEvent, newId, RpcClient } from '@allot/kit';
import { eventually, testEnv, testNats } from '@allot/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNotifications } from '../src';

const DAY = 86_400_000;

describe('notifications retention', () => {
  let offset = 0;
  const clock = { now: () => new Date(Date.now() + offset) };
  let running: Awaited<ReturnType<typeof startNotifications>>;
  let conn: Awaited<ReturnType<typeof testNats>>;

  beforeAll(async () => {
    running = await startNotifications(testEnv({ READ_RETENTION_DAYS: '30', RETENTION_SWEEP_MS: '100' }), { clock });
    conn = await testNats();
  });
  afterAll(async () => {
    await running.stop();
    await conn.close();
  });

  it('retention - read notifications older than the retention are purged; unread ones stay and the count is unchanged', async () => {
    const tenantId = newId('t');
    const actor = { kind: 'user' as const, userId: 'hana' };
    const rpc = new RpcClient(conn.nc);
    const call = <K extends keyof typeof notificationsRpc>(operation: K, input: unknown) =>
      rpc.call('notifications', operation, notificationsRpc[operation], input as never, { tenantId, actor });
    const order = (): Order => {
      const at = clock.now().toISOString();
      return {
        id: newId('ord'),
        sku: 'A',
        qty: 1,
        userId: 'hana',
        status: 'reserved',
        supplierRef: null,
        supplierChecks: 0,
        history: [],
        blockedBy: null,
        createdAt: at,
        updatedAt: at,
      };
    };
    const inventory = new EventPublisher(conn.js, 'inventory');
    for (let i = 0; i < 3; i++)
      await inventory.publish(makeEvent('inventory', tenantId, 'order.reserved', { order: order(), reason: null }, clock));
    const feed = await eventually(async () => {
      const page = await call('notification.list', {});
      return page.items.length === 3 && page;
    });
    const [newest, , oldest] = feed.items;
    await call('notification.read', { id: oldest!.id });

    // 29 days later nothing is old enough; 31 days later the read one goes.
    offset = 29 * DAY;
    await new Promise((r) => setTimeout(r, 400));
    expect((await call('notification.list', {})).items).toHaveLength(3);
    offset = 31 * DAY;
    const after = await eventually(async () => {
      const page = await call('notification.list', {});
      return page.items.length === 2 && page;
    });
    expect(after.unreadCount).toBe(2);
    expect(after.items.map((n) => n.id)).toEqual([newest!.id, feed.items[1]!.id]);
  });
});
