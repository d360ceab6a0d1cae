import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Stack, startStack } from './stack';

/** Uploads a file of SKU rows as a client does: `multipart/form-data` to `POST /v1/imports`. */
async function upload(stack: Stack, apiKey: string, file: string, options: { dryRun?: boolean } = {}) {
  const form = new FormData();
  form.set('type', 'skus');
  form.set('file', new Blob([file], { type: 'text/csv' }), 'skus.csv');
  if (options.dryRun !== undefined) form.set('dryRun', String(options.dryRun));
  const res = await fetch(`${stack.base}/v1/imports`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: form });
  return { status: res.status, body: (await res.json()) as any };
}

async function ended(stack: Stack, apiKey: string, id: string) {
  return eventually(async () => {
    const res = await stack.as(apiKey)('GET', `/v1/imports/${id}`);
    return ['previewed', 'completed', 'failed'].includes(res.body?.status) && res.body;
  }, 30_000);
}

describe('imports of SKUs through the gateway', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ inventory: {} });
  });
  afterAll(() => stack.stop());

  it('imports skus - created with their stock, then brought to a new file by movements; the same file again changes nothing', async () => {
    const { key } = await stack.newTenant();
    const api = stack.as(key);
    const first = await upload(stack, key, 'sku,name,quantity,reorderLevel,unitCost\nmug,Mug,10,2,3.5\ncap,Cap,4,,\n');
    expect(first.status).toBe(202);
    expect(first.body.id).toMatch(/-inventory$/);
    expect(await ended(stack, key, first.body.id)).toMatchObject({ type: 'skus', status: 'completed', created: 2, failedRows: 0 });
    expect((await api('GET', '/v1/skus/mug')).body).toMatchObject({ name: 'Mug', quantity: 10, reorderLevel: 2 });

    // Up by a restock at the row's unit cost, down by an adjustment, a rename in place.
    const file = 'sku,name,quantity,unitCost\nmug,Mug,25,4\ncap,Cap (blue),1,\n';
    const second = await ended(stack, key, (await upload(stack, key, file)).body.id);
    expect(second).toMatchObject({ status: 'completed', created: 0, updated: 2, unchanged: 0, failedRows: 0 });
    expect((await api('GET', '/v1/skus/mug')).body).toMatchObject({ quantity: 25, reorderLevel: 2 });
    expect((await api('GET', '/v1/skus/cap')).body).toMatchObject({ name: 'Cap (blue)', quantity: 1 });
    const mug = (await api('GET', '/v1/inventory/mug/movements')).body.items;
    expect(mug.map((m: any) => [m.type, m.quantity, m.balanceAfter, m.unitCost ?? null])).toEqual([
      ['initial', 10, 10, 3.5],
      ['restock', 15, 25, 4],
    ]);
    const cap = (await api('GET', '/v1/inventory/cap/movements')).body.items;
    expect(cap.map((m: any) => [m.type, m.quantity, m.balanceAfter])).toEqual([
      ['initial', 4, 4],
      ['adjust', -3, 1],
    ]);

    const again = await ended(stack, key, (await upload(stack, key, file)).body.id);
    expect(again).toMatchObject({ status: 'completed', created: 0, updated: 0, unchanged: 2 });
    expect((await api('GET', '/v1/inventory/mug/movements')).body.items).toHaveLength(2);
    const listed = await api('GET', '/v1/imports?limit=10');
    expect(listed.body.items.map((i: any) => i.id)).toEqual([again.id, second.id, first.body.id]);
  });

  it('imports skus - a bad row is reported by line and column and the others are applied', async () => {
    const { key } = await stack.newTenant();
    const file =
      'sku,name,quantity,unitCost\nok-1,Fine,3,\nbad code,Broken,1,\nok-2,,2,\nok-3,Negative,-1,\nok-4,Costly,1,-2\nok-5,Also fine,,\n';
    const done = await ended(stack, key, (await upload(stack, key, file)).body.id);
    expect(done).toMatchObject({ status: 'completed', created: 2, failedRows: 4 });
    expect(done.errors.map((e: any) => [e.line, e.column])).toEqual([
      [3, 'sku'],
      [4, 'name'],
      [5, 'quantity'],
      [6, 'unitCost'],
    ]);
    expect((await stack.as(key)('GET', '/v1/skus/ok-5')).body).toMatchObject({ quantity: 0 });
    const errors = await stack.as(key)('GET', `/v1/imports/${done.id}/errors?limit=2`);
    expect(errors.body.items).toHaveLength(2);
    expect(errors.body.nextCursor).not.toBeNull();
  });

  it('imports skus - a dry run counts what it would do and writes nothing; confirming applies it', async () => {
    const { key } = await stack.newTenant();
    await ended(stack, key, (await upload(stack, key, 'sku,name,quantity\nbolt,Bolt,100\n')).body.id);
    const res = await upload(stack, key, 'sku,name,quantity\nbolt,Bolt,80\nnut,Nut,50\nwasher,Washer,x\n', { dryRun: true });
    const preview = await ended(stack, key, res.body.id);
    expect(preview).toMatchObject({ status: 'previewed', dryRun: true, created: 1, updated: 1, unchanged: 0, failedRows: 1 });
    expect((await stack.as(key)('GET', '/v1/skus/nut')).status).toBe(404);
    expect((await stack.as(key)('GET', '/v1/skus/bolt')).body.quantity).toBe(100);

    const confirmed = await stack.as(key)('POST', `/v1/imports/${res.body.id}/confirm`);
    expect(confirmed.status).toBe(202);
    expect(await ended(stack, key, res.body.id)).toMatchObject({ status: 'completed', created: 1, updated: 1, failedRows: 1 });
    expect((await stack.as(key)('GET', '/v1/skus/bolt')).body.quantity).toBe(80);
    expect((await stack.as(key)('GET', '/v1/skus/nut')).body.quantity).toBe(50);
    const again = await stack.as(key)('POST', `/v1/imports/${res.body.id}/confirm`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('invalid_state');
  });
});
