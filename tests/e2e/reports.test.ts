import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type IncomingMessage, request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { REPORT_CHUNK_BYTES } from '@allot/contracts';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { Binary, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, openStream, type Stack, startServiceProcess, startStack, today } from './stack';

/**
 * A report's file as the client gets it, with the headers that name it: its bytes as they come
 * (compressed if they come so; fetch would decompress them unseen), asking for `acceptEncoding`
 * if given (none: the file as it is).
 */
async function download(stack: Stack, key: string, id: string, acceptEncoding?: string) {
  const headers = { authorization: `Bearer ${key}`, ...(acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}) };
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    request(`${stack.base}/v1/reports/${id}/download`, { headers }, resolve).on('error', reject).end();
  });
  const bytes = Buffer.concat(await res.toArray());
  return {
    status: res.statusCode,
    type: res.headers['content-type'] ?? null,
    disposition: res.headers['content-disposition'] ?? null,
    encoding: res.headers['content-encoding'] ?? null,
    vary: res.headers.vary ?? null,
    length: res.headers['content-length'] === undefined ? null : Number(res.headers['content-length']),
    bytes,
    problem: () => JSON.parse(bytes.toString('utf8')),
  };
}

/**
 * A CSV or NDJSON file downloads the same both ways: gzip-compressed to a client that takes gzip,
 * as it is to one that does not; `sizeBytes` is the file's own size. Returns the file.
 */
async function downloadBothWays(stack: Stack, key: string, report: { id: string; sizeBytes: number }) {
  const plain = await download(stack, key, report.id, 'identity');
  expect(plain.status).toBe(200);
  expect(plain.encoding).toBeNull();
  expect(plain.vary).toBe('Accept-Encoding');
  expect([plain.length, plain.bytes.length]).toEqual([report.sizeBytes, report.sizeBytes]);
  const gzipped = await download(stack, key, report.id, 'gzip, deflate, br');
  expect(gzipped.status).toBe(200);
  expect([gzipped.encoding, gzipped.vary, gzipped.type, gzipped.disposition]).toEqual([
    'gzip',
    'Accept-Encoding',
    plain.type,
    plain.disposition,
  ]);
  expect(gzipped.length).toBe(gzipped.bytes.length);
  expect(gzipped.bytes.length).toBeLessThan(plain.bytes.length);
  expect(gunzipSync(gzipped.bytes).equals(plain.bytes)).toBe(true);
  return plain;
}

/** The report once it ended (ready or failed). */
async function ended(stack: Stack, key: string, id: string, timeoutMs = 60_000) {
  let last: unknown;
  return eventually(async () => {
    const res = await stack.as(key)('GET', `/v1/reports/${id}`);
    last = res.body;
    return ['ready', 'failed'].includes(res.body?.status) && res.body;
  }, timeoutMs).catch((error) => {
    throw new Error(`${error.message}: the report is ${JSON.stringify(last)}`);
  });
}

async function ask(stack: Stack, key: string, body: Record<string, unknown>) {
  const res = await stack.as(key)('POST', '/v1/reports', body);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body as { id: string; status: string };
}

/** The rows of an XLSX file, read with the library that wrote it: the header row first. */
async function xlsxRows(bytes: Buffer): Promise<unknown[][]> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
  const sheet = workbook.worksheets[0];
  const rows: unknown[][] = [];
  sheet?.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
  return rows;
}

const ndjson = (bytes: Buffer) =>
  bytes
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

/** Stored bookings written straight into capacity's database: a report with many rows to read, made quickly. */
async function seedBookings(stack: Stack, tenantId: string, sessionId: string, count: number, userOf = (i: number) => `user-${i % 50}`) {
  const client = await MongoClient.connect(inject('mongoUrl'));
  try {
    const at = new Date().toISOString();
    const docs = Array.from({ length: count }, (_, i) => ({
      _id: `bk_seed${String(i).padStart(8, '0')}${tenantId.slice(-6)}`,
      tenantId,
      sessionId,
      date: today(1 + (i % 30)),
      adults: 1,
      children: 0,
      slots: 1,
      bookingType: 'regular',
      userId: userOf(i),
      status: 'confirmed',
      source: 'direct',
      queueEntryId: null,
      holdExpiresAt: null,
      createdAt: at,
      updatedAt: at,
    }));
    const bookings = client.db(stack.capacityDb).collection('bookings');
    for (let i = 0; i < docs.length; i += 5000) await bookings.insertMany(docs.slice(i, i + 5000) as never[]);
  } finally {
    await client.close();
  }
}

describe('reports through the gateway', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ notifications: {}, inventory: {} });
  }, 60_000);
  afterAll(() => stack?.stop());

  it('reports - bookings in CSV, NDJSON and XLSX: every booking of the range, one row each, read back', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    const session = (await admin('POST', '/v1/sessions', { name: 'Tour, "morning"', maxCapacity: 10 })).body;
    const date = today(2);
    const booked = [
      (await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 2, children: 1, userId: 'ann' })).body,
      (await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1, hold: true })).body,
    ];
    // Outside the range: not reported.
    await admin('POST', '/v1/bookings', { sessionId: session.id, date: today(9), adults: 1 });
    const range = { from: today(1), to: today(3) };

    const csv = await ask(stack, key, { type: 'bookings', format: 'csv', ...range });
    expect(csv).toMatchObject({ type: 'bookings', format: 'csv', status: 'queued', from: range.from, to: range.to });
    const csvReady = await ended(stack, key, csv.id);
    expect(csvReady).toMatchObject({ status: 'ready', percentage: 100, rows: 2, error: null });
    const csvFile = await downloadBothWays(stack, key, csvReady);
    // No Accept-Encoding: the file as it is.
    expect((await download(stack, key, csv.id)).bytes.equals(csvFile.bytes)).toBe(true);
    expect(csvFile.type).toBe('text/csv; charset=utf-8');
    expect(csvFile.disposition).toBe(`attachment; filename="bookings-${csv.id}.csv"`);
    const rows = parse(csvFile.bytes, { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0] ?? {})).toEqual([
      'bookingId',
      'sessionId',
      'sessionName',
      'date',
      'status',
      'adults',
      'children',
      'slots',
      'userId',
      'bookingType',
      'createdAt',
    ]);
    expect(rows.map((r) => r.bookingId).sort()).toEqual(booked.map((b) => b.id).sort());
    const ann = rows.find((r) => r.userId === 'ann');
    expect(ann).toMatchObject({ sessionName: 'Tour, "morning"', date, status: 'confirmed', adults: '2', children: '1', slots: '3' });
    expect(rows.find((r) => r.userId === '')).toMatchObject({ status: 'held', slots: '1' });

    const nd = await ask(stack, key, { type: 'bookings', format: 'ndjson', ...range, sessionId: session.id });
    const ndReady = await ended(stack, key, nd.id);
    expect(ndReady).toMatchObject({ status: 'ready', rows: 2 });
    const ndFile = await downloadBothWays(stack, key, ndReady);
    expect(ndFile.type).toBe('application/x-ndjson');
    const lines = ndjson(ndFile.bytes);
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.userId === 'ann')).toMatchObject({ adults: 2, children: 1, slots: 3, userId: 'ann' });
    expect(lines.find((l) => l.userId === null)).toMatchObject({ status: 'held' });

    const xl = await ask(stack, key, { type: 'bookings', format: 'xlsx', ...range });
    const xlReady = await ended(stack, key, xl.id);
    expect(xlReady).toMatchObject({ status: 'ready', rows: 2 });
    // A zip already: sent as it is, whatever the client takes.
    const xlFile = await download(stack, key, xl.id, 'gzip');
    expect([xlFile.encoding, xlFile.vary, xlFile.length, xlFile.bytes.length]).toEqual([null, null, xlReady.sizeBytes, xlReady.sizeBytes]);
    expect(xlFile.type).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(xlFile.disposition).toBe(`attachment; filename="bookings-${xl.id}.xlsx"`);
    const sheet = await xlsxRows(xlFile.bytes);
    expect(sheet[0]?.[0]).toBe('bookingId');
    expect(sheet).toHaveLength(3);
    expect(sheet.find((r) => r[8] === 'ann')).toEqual(expect.arrayContaining([session.id, 'Tour, "morning"', date, 'confirmed', 2, 1, 3]));
  });

  it('reports - a file stored before files were compressed (no encoding on its record) downloads as it is', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    const session = (await admin('POST', '/v1/sessions', { name: 'Old', maxCapacity: 10 })).body;
    await admin('POST', '/v1/bookings', { sessionId: session.id, date: today(1), adults: 1 });
    const report = await ask(stack, key, { type: 'bookings', format: 'csv' });
    const ready = await ended(stack, key, report.id);
    const plain = (await download(stack, key, report.id)).bytes;
    // As such a report was stored: the file itself in its chunk, and neither field on the record.
    const client = await MongoClient.connect(inject('mongoUrl'));
    try {
      const db = client.db(stack.capacityDb);
      await db.collection('report_chunks').updateOne({ _id: `${report.id}:0` as never }, { $set: { data: new Binary(plain) } });
      await db.collection('reports').updateOne({ _id: report.id as never }, { $unset: { encoding: '', storedBytes: '' } });
    } finally {
      await client.close();
    }
    for (const accept of ['gzip', 'identity']) {
      const file = await download(stack, key, report.id, accept);
      expect([file.status, file.encoding, file.length], accept).toEqual([200, null, ready.sizeBytes]);
      expect(file.bytes.equals(plain), accept).toBe(true);
    }
  });

  it('reports - occupancy lists every session/date of the range with capacity, booked, held, available and waitlist', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    const session = (await admin('POST', '/v1/sessions', { name: 'Small', maxCapacity: 4 })).body;
    const date = today(1);
    await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 3 });
    await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1, hold: true });
    const queued = await admin('POST', '/v1/queue', { sessionId: session.id, date, requestedSlots: 2, userId: 'zoe' });
    expect(queued.status, queued.text).toBe(201);
    const report = await ask(stack, key, { type: 'occupancy', format: 'ndjson', from: date, to: today(2) });
    expect(await ended(stack, key, report.id)).toMatchObject({ status: 'ready', rows: 2 });
    const lines = ndjson((await download(stack, key, report.id)).bytes);
    expect(lines).toEqual([
      {
        sessionId: session.id,
        sessionName: 'Small',
        date,
        capacity: 4,
        booked: 3,
        held: 1,
        available: 0,
        utilizationPercentage: 100,
        waitlist: 1,
      },
      {
        sessionId: session.id,
        sessionName: 'Small',
        date: today(2),
        capacity: 4,
        booked: 0,
        held: 0,
        available: 4,
        utilizationPercentage: 0,
        waitlist: 0,
      },
    ]);
  });

  it('reports - orders, stock movements and a FIFO stock valuation from restock unit costs', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    expect((await admin('POST', '/v1/skus', { sku: 'TEE-1', name: 'Tee', quantity: 4, unitCost: 1 })).status).toBe(201);
    expect((await admin('POST', '/v1/skus/TEE-1/restock', { quantity: 10, unitCost: 2 })).status).toBe(200);
    expect((await admin('POST', '/v1/skus/TEE-1/restock', { quantity: 10, unitCost: 3.5 })).status).toBe(200);
    const bad = await admin('POST', '/v1/skus/TEE-1/restock', { quantity: 1, unitCost: -1 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('unitCost');
    const olga = stack.as(await stack.userToken(key, 'olga'));
    const placed = await olga('POST', '/v1/orders', { sku: 'TEE-1', qty: 12 });
    expect(placed.status, placed.text).toBe(202);
    const order = placed.body;
    await eventually(async () => (await admin('GET', `/v1/orders/${order.id}`)).body.status === 'reserved');

    const orders = await ask(stack, key, { type: 'orders', format: 'csv', from: today(), to: today() });
    expect(await ended(stack, key, orders.id)).toMatchObject({ status: 'ready', rows: 1 });
    const orderRows = parse((await download(stack, key, orders.id)).bytes, { columns: true });
    expect(orderRows).toEqual([
      {
        orderId: order.id,
        sku: 'TEE-1',
        qty: '12',
        userId: 'olga',
        status: 'reserved',
        reason: '',
        createdAt: order.createdAt,
        updatedAt: expect.any(String),
      },
    ]);

    const movements = await ask(stack, key, { type: 'stock-movements', format: 'ndjson', sku: 'TEE-1' });
    expect(await ended(stack, key, movements.id)).toMatchObject({ status: 'ready', rows: 4 });
    const moved = ndjson((await download(stack, key, movements.id)).bytes);
    expect(moved.map((m) => [m.type, m.qty])).toEqual([
      ['initial', 4],
      ['restock', 10],
      ['restock', 10],
      ['reserve', -12],
    ]);
    expect(moved[3]).toMatchObject({ orderId: order.id, sku: 'TEE-1' });

    // 12 units left the oldest layers first (4 at 1, 8 at 2): 2 at 2 and 10 at 3.50 remain.
    const valuation = await ask(stack, key, { type: 'stock-valuation', format: 'xlsx', to: today() });
    expect(await ended(stack, key, valuation.id)).toMatchObject({ status: 'ready', rows: 1 });
    const sheet = await xlsxRows((await download(stack, key, valuation.id)).bytes);
    expect(sheet).toEqual([
      ['sku', 'name', 'quantity', 'unitCostFifo', 'value'],
      ['TEE-1', 'Tee', 12, 3.25, 39],
    ]);
  });

  it('reports - bad input is 400 naming the field; an unknown id is 404', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    for (const [body, field] of [
      [{ type: 'visits', format: 'csv' }, 'type'],
      [{ type: 'bookings', format: 'pdf' }, 'format'],
      [{ type: 'bookings', format: 'csv', from: '2026-02-30' }, 'from'],
      [{ type: 'bookings', format: 'csv', from: '2026-03-02', to: '2026-03-01' }, 'to'],
      [{ type: 'orders', format: 'csv', sessionId: 'ses_1' }, 'sessionId'],
    ] as const) {
      const res = await admin('POST', '/v1/reports', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
    }
    expect((await admin('GET', '/v1/reports')).body.items).toEqual([]);
    expect((await admin('GET', '/v1/reports/rep_01HZZZZZZZZZZZZZZZZZZZZZZZ-capacity')).status).toBe(404);
    expect((await admin('GET', '/v1/reports/whatever/download')).status).toBe(404);
  });

  it('reports - a user token asks only for its own bookings, and sees only its own reports', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    const session = (await admin('POST', '/v1/sessions', { name: 'Users', maxCapacity: 10 })).body;
    const date = today(1);
    await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1, userId: 'ann' });
    await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 2, userId: 'bob' });
    const ann = stack.as(await stack.userToken(key, 'ann'));
    const bob = stack.as(await stack.userToken(key, 'bob'));

    expect((await ann('POST', '/v1/reports', { type: 'occupancy', format: 'csv' })).status).toBe(403);
    expect((await ann('POST', '/v1/reports', { type: 'orders', format: 'csv' })).status).toBe(403);
    const mine = await ann('POST', '/v1/reports', { type: 'bookings', format: 'ndjson' });
    expect(mine.status).toBe(202);
    expect(mine.body.userId).toBe('ann');
    await eventually(async () => (await ann('GET', `/v1/reports/${mine.body.id}`)).body.status === 'ready');
    const res = await fetch(`${stack.base}/v1/reports/${mine.body.id}/download`, {
      headers: { authorization: `Bearer ${await stack.userToken(key, 'ann')}` },
    });
    const lines = ndjson(Buffer.from(await res.arrayBuffer()));
    expect(lines.map((l) => l.userId)).toEqual(['ann']);

    expect((await bob('GET', `/v1/reports/${mine.body.id}`)).status).toBe(404);
    expect((await bob('GET', `/v1/reports/${mine.body.id}/download`)).status).toBe(404);
    expect((await bob('GET', '/v1/reports')).body.items).toEqual([]);
    expect((await admin('GET', '/v1/reports')).body.items.map((r: { id: string }) => r.id)).toEqual([mine.body.id]);
  });

  it('reports - ready: report_ready to whoever asked (a user, or the admins feed) and report.updated on the stream', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    const token = await stack.userToken(key, 'cleo');
    const channel = openStream(`${stack.base}/v1/stream?channels=reports`, { authorization: `Bearer ${key}` });
    const own = openStream(`${stack.base}/v1/stream?channels=user`, { authorization: `Bearer ${token}` });
    try {
      expect((await channel.response).status).toBe(200);
      expect((await own.response).status).toBe(200);
      const byKey = await ask(stack, key, { type: 'orders', format: 'csv' });
      const byUser = (await stack.as(token)('POST', '/v1/reports', { type: 'bookings', format: 'csv' })).body;
      await ended(stack, key, byKey.id);
      await ended(stack, key, byUser.id);

      const updates = await eventually(() => {
        const seen = channel.events.filter((e) => e.event === 'report.updated').map((e) => JSON.parse(e.data));
        return seen.filter((u) => u.status === 'ready').length === 2 && seen;
      });
      const first = updates.filter((u) => u.id === byKey.id);
      expect(first.map((u) => u.status)).toEqual(expect.arrayContaining(['queued', 'running', 'ready']));
      expect(first.at(-1)).toMatchObject({ type: 'orders', format: 'csv', status: 'ready', percentage: 100, userId: null });
      await eventually(() => own.events.some((e) => e.event === 'report.updated' && JSON.parse(e.data).status === 'ready'));

      const adminsFeed = await eventually(async () => {
        const items = (await admin('GET', '/v1/notifications')).body.items.filter((n: { type: string }) => n.type === 'report_ready');
        return items.length > 0 && items;
      });
      expect(adminsFeed).toHaveLength(1);
      expect(adminsFeed[0].data).toMatchObject({ reportId: byKey.id, type: 'orders', format: 'csv' });
      const userFeed = await eventually(async () => {
        const items = (await stack.as(token)('GET', '/v1/notifications')).body.items;
        return items.some((n: { type: string }) => n.type === 'report_ready') && items;
      });
      expect(userFeed.filter((n: { type: string }) => n.type === 'report_ready')[0].data).toMatchObject({ reportId: byUser.id });
    } finally {
      channel.close();
      own.close();
    }
  });

  it('reports - of four asked at once at most two are queued, the rest 429; a running one downloads as 409; a large file streams whole', async () => {
    const { key, tenantId } = await stack.newTenant();
    const admin = stack.as(key);
    const session = (await admin('POST', '/v1/sessions', { name: 'Busy', maxCapacity: 100_000 })).body;
    const count = 20_000;
    // Users of their own: rows that do not compress to nothing, so the stored file spans chunks too.
    await seedBookings(stack, tenantId, session.id, count, () => randomBytes(30).toString('base64url'));
    const burst = await Promise.all(Array.from({ length: 4 }, () => admin('POST', '/v1/reports', { type: 'bookings', format: 'csv' })));
    // Never more than two; racing requests may all step back, so the rest is asked one by one.
    const accepted = burst.filter((r) => r.status === 202).map((r) => r.body as { id: string });
    expect(accepted.length).toBeLessThanOrEqual(2);
    expect(burst.filter((r) => r.status !== 202).map((r) => [r.status, r.body.code])).toEqual(
      Array(4 - accepted.length).fill([429, 'too_many_jobs']),
    );
    while (accepted.length < 2) accepted.push(await ask(stack, key, { type: 'bookings', format: 'csv' }));
    const third = await admin('POST', '/v1/reports', { type: 'bookings', format: 'csv' });
    expect([third.status, third.body.code]).toEqual([429, 'too_many_jobs']);
    const [first, second] = accepted;
    const early = await download(stack, key, first?.id as string);
    expect(early.status).toBe(409);
    expect(early.problem().code).toBe('report_not_ready');
    // Refused reports leave nothing behind.
    expect((await admin('GET', '/v1/reports')).body.items).toHaveLength(2);

    expect(await ended(stack, key, first?.id as string, 180_000)).toMatchObject({ status: 'ready', rows: count });
    const ready = await ended(stack, key, second?.id as string, 180_000);
    expect(ready).toMatchObject({ status: 'ready', rows: count });
    const file = await downloadBothWays(stack, key, ready);
    expect(file.bytes.length).toBeGreaterThan(1024 * 1024); // more than one NATS message carries
    // Stored compressed, it is still more than one chunk: the gzip stream runs on across them.
    expect((await download(stack, key, ready.id, 'gzip')).bytes.length).toBeGreaterThan(REPORT_CHUNK_BYTES);
    const rows = parse(file.bytes, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(count);
    expect(new Set(rows.map((r) => r.bookingId)).size).toBe(count);
    expect((await admin('POST', '/v1/reports', { type: 'occupancy', format: 'csv' })).status).toBe(202);
  }, 240_000);
});

describe('reports that fail, expire, or outlive a crash', () => {
  let stack: Stack;
  let capacity: ChildProcess | undefined;
  // A writer silent for 10 s is taken for dead: long enough that a busy machine's slow start
  // (counting the rows before the first progress write) is not, short enough for the crash test.
  const env = { REPORT_TTL_SECONDS: '2', REPORT_MAX_ROWS: '20000', REPORT_STALE_MS: '10000' };
  beforeAll(async () => {
    stack = await startStack({ capacityInProcess: false });
    capacity = await startServiceProcess(stack, 'capacity', env);
  }, 60_000);
  afterAll(async () => {
    capacity?.kill('SIGKILL');
    await stack?.stop();
  });

  it('reports - a failed report is 410 with its reason; an expired one is 404', async () => {
    const { key, tenantId } = await stack.newTenant();
    const admin = stack.as(key);
    const session = (await admin('POST', '/v1/sessions', { name: 'Short', maxCapacity: 100_000 })).body;
    await admin('POST', '/v1/bookings', { sessionId: session.id, date: today(1), adults: 1 });
    const small = await ask(stack, key, { type: 'bookings', format: 'csv' });
    const ready = await ended(stack, key, small.id);
    expect(ready.status).toBe('ready');
    expect(Date.parse(ready.expiresAt) - Date.parse(ready.readyAt)).toBe(2000);
    await eventually(async () => (await admin('GET', `/v1/reports/${small.id}`)).body.status === 'expired');
    const gone = await download(stack, key, small.id);
    expect(gone.status).toBe(404);

    await seedBookings(stack, tenantId, session.id, 20_001);
    const tooBig = await ask(stack, key, { type: 'bookings', format: 'csv' });
    const failed = await ended(stack, key, tooBig.id);
    expect(failed).toMatchObject({ status: 'failed' });
    expect(failed.error).toContain('20000');
    const refused = await download(stack, key, tooBig.id);
    expect(refused.status).toBe(410);
    expect(refused.problem().code).toBe('report_failed');
  }, 120_000);

  it('reports - a report whose service is killed while writing it is started over by the next one and ends ready', async () => {
    const { key, tenantId } = await stack.newTenant();
    const admin = stack.as(key);
    const session = (await admin('POST', '/v1/sessions', { name: 'Crash', maxCapacity: 100_000 })).body;
    // Enough rows that the file takes well over one progress interval (500 ms) once the rows come,
    // so the test sees it running with rows written before it ends.
    const count = 16_000;
    await seedBookings(stack, tenantId, session.id, count);
    // Seeded without ledgers: the range's end tells the report's percentage where the rows end.
    const report = await ask(stack, key, { type: 'bookings', format: 'xlsx', to: today(30) });
    await eventually(async () => {
      const now = (await admin('GET', `/v1/reports/${report.id}`)).body;
      if (now.status !== 'queued' && now.status !== 'running') throw new Error(`the report ended before the kill: ${now.status}`);
      return now.status === 'running' && now.percentage > 0;
    }, 60_000);
    capacity?.kill('SIGKILL');
    await new Promise((resolve) => capacity?.once('exit', resolve));
    // The writer died mid-file: the report is left running, as the next process finds it.
    const client = await MongoClient.connect(inject('mongoUrl'));
    const left = await client
      .db(stack.capacityDb)
      .collection('reports')
      .findOne({ _id: report.id as never });
    await client.close();
    expect(left?.status).toBe('running');
    capacity = await startServiceProcess(stack, 'capacity', env);
    expect(await ended(stack, key, report.id, 120_000)).toMatchObject({ status: 'ready', rows: count });
    const sheet = await xlsxRows((await download(stack, key, report.id)).bytes);
    expect(sheet).toHaveLength(count + 1);
  }, 240_000);
});
