import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, openStream, type Stack, startCapacityProcess, startStack, today } from './stack';

interface Upload {
  type: string;
  file: string;
  name?: string;
  mapping?: unknown;
  dryRun?: boolean;
  atomic?: boolean;
  key?: string;
}

/** Uploads a file as a client does: `multipart/form-data` to `POST /v1/imports`. */
async function upload(stack: Stack, apiKey: string, { type, file, name = 'rows.csv', mapping, dryRun, atomic, key }: Upload) {
  const form = new FormData();
  form.set('type', type);
  form.set('file', new Blob([file], { type: name.endsWith('.csv') ? 'text/csv' : 'application/x-ndjson' }), name);
  if (mapping !== undefined) form.set('mapping', JSON.stringify(mapping));
  if (dryRun !== undefined) form.set('dryRun', String(dryRun));
  if (atomic !== undefined) form.set('atomic', String(atomic));
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey}` };
  if (key) headers['idempotency-key'] = key;
  const res = await fetch(`${stack.base}/v1/imports`, { method: 'POST', headers, body: form });
  return { status: res.status, body: (await res.json()) as any };
}

/** The import once it has ended (or been previewed). */
async function ended(stack: Stack, apiKey: string, id: string, timeoutMs = 20_000) {
  let last: unknown;
  return eventually(async () => {
    const res = await stack.as(apiKey)('GET', `/v1/imports/${id}`);
    last = res.body;
    if (process.env.DEBUG_IMPORTS) console.log(new Date().toISOString(), JSON.stringify(res.body).slice(0, 300));
    return ['previewed', 'completed', 'failed'].includes(res.body?.status) && res.body;
  }, timeoutMs).catch((error) => {
    throw new Error(`${error.message}: the import is ${JSON.stringify(last)}`);
  });
}

/** Every session of the tenant, through the pages. */
async function allSessions(stack: Stack, apiKey: string) {
  const sessions: any[] = [];
  let cursor: string | null = null;
  do {
    const res = await stack.as(apiKey)('GET', `/v1/sessions?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    sessions.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return sessions;
}

describe('imports through the gateway', () => {
  let stack: Stack;
  const uploadLimit = 3 * 1024 * 1024;
  beforeAll(async () => {
    // Inventory too: the list of imports pages through both services' imports.
    stack = await startStack({ inventory: {}, notifications: {}, gateway: { IMPORT_FILE_LIMIT_BYTES: String(uploadLimit) } });
  });
  afterAll(() => stack.stop());

  it('imports - quoted CSV fields with commas, quotes and line breaks are read as one value', async () => {
    const { key } = await stack.newTenant();
    const file =
      '\uFEFFexternalId,name,description,maxCapacity\nt-1,"Tour, morning","Meet at the ""big"" gate\nbring water",20\nt-2,Evening,,15\n';
    const res = await upload(stack, key, { type: 'sessions', file });
    expect(res.body).toMatchObject({});
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ type: 'sessions', status: 'queued', dryRun: false });
    const done = await ended(stack, key, res.body.id);
    expect(done).toMatchObject({ status: 'completed', totalRows: 2, processedRows: 2, created: 2, failedRows: 0 });
    const sessions = await allSessions(stack, key);
    const morning = sessions.find((s) => s.externalId === 't-1');
    expect(morning).toMatchObject({ name: 'Tour, morning', description: 'Meet at the "big" gate\nbring water', maxCapacity: 20 });
  });

  it('imports - an API key following the imports channel sees import.updated as the import runs and ends', async () => {
    const { key } = await stack.newTenant();
    const stream = openStream(`${stack.base}/v1/stream?channels=imports`, { authorization: `Bearer ${key}` });
    try {
      expect((await stream.response).status).toBe(200);
      const res = await upload(stack, key, { type: 'sessions', file: 'externalId,name,maxCapacity\ns1,Live,4\ns2,Live too,4\n' });
      await ended(stack, key, res.body.id);
      const updates = await eventually(() => {
        const mine = stream.events.filter((e) => e.event === 'import.updated').map((e) => JSON.parse(e.data));
        return mine.some((u) => u.status === 'completed') && mine;
      });
      expect(updates.at(-1)).toEqual({ id: res.body.id, type: 'sessions', status: 'completed', processedRows: 2, totalRows: 2 });
      expect(updates.map((u) => u.status)).toContain('running');
    } finally {
      stream.close();
    }
  });

  it('imports - a dry run counts what it would do and writes nothing; confirming applies it', async () => {
    const { key } = await stack.newTenant();
    await ended(stack, key, (await upload(stack, key, { type: 'sessions', file: 'externalId,name,maxCapacity\na,Alpha,10\n' })).body.id);
    const file = 'externalId,name,maxCapacity\na,Alpha renamed,10\nb,Beta,5\nc,Gamma,zero\n';
    const res = await upload(stack, key, { type: 'sessions', file, dryRun: true });
    const preview = await ended(stack, key, res.body.id);
    expect(preview).toMatchObject({ status: 'previewed', dryRun: true, created: 1, updated: 1, unchanged: 0, failedRows: 1 });
    expect(preview.errors).toEqual([{ line: 4, column: 'maxCapacity', value: 'zero', message: expect.any(String) }]);
    const before = await allSessions(stack, key);
    expect(before.map((s) => s.name)).toEqual(['Alpha']);

    const confirmed = await stack.as(key)('POST', `/v1/imports/${res.body.id}/confirm`);
    expect(confirmed.status).toBe(202);
    const done = await ended(stack, key, res.body.id);
    expect(done).toMatchObject({ status: 'completed', dryRun: false, created: 1, updated: 1, failedRows: 1 });
    expect((await allSessions(stack, key)).map((s) => s.name).sort()).toEqual(['Alpha renamed', 'Beta']);
    const again = await stack.as(key)('POST', `/v1/imports/${res.body.id}/confirm`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('invalid_state');
  });

  it('imports - a bad row is reported by line and column and the rest of the file is applied', async () => {
    const { key } = await stack.newTenant();
    const rows = ['externalId,name,maxCapacity', 'x1,One,10', 'x2,,10', 'x3,Three,-4', 'x4,Four,10'];
    const done = await ended(stack, key, (await upload(stack, key, { type: 'sessions', file: `${rows.join('\n')}\n` })).body.id);
    expect(done).toMatchObject({ status: 'completed', created: 2, failedRows: 2 });
    expect(done.errors.map((e: any) => [e.line, e.column])).toEqual([
      [3, 'name'],
      [4, 'maxCapacity'],
    ]);
    const page = await stack.as(key)('GET', `/v1/imports/${done.id}/errors?limit=1`);
    expect(page.body.items).toHaveLength(1);
    const next = await stack.as(key)('GET', `/v1/imports/${done.id}/errors?limit=1&cursor=${page.body.nextCursor}`);
    expect(next.body.items[0]).toMatchObject({ line: 4, value: '-4' });
    expect((await allSessions(stack, key)).map((s) => s.externalId).sort()).toEqual(['x1', 'x4']);
  });

  it('imports - importing the same rows again updates nothing and duplicates nothing', async () => {
    const { key } = await stack.newTenant();
    const file = 'externalId,name,maxCapacity\nr1,Reimported,12\nr2,Twice,8\n';
    await ended(stack, key, (await upload(stack, key, { type: 'sessions', file })).body.id);
    const again = await ended(stack, key, (await upload(stack, key, { type: 'sessions', file })).body.id);
    expect(again).toMatchObject({ status: 'completed', created: 0, updated: 0, unchanged: 2 });
    const changed = await ended(
      stack,
      key,
      (await upload(stack, key, { type: 'sessions', file: 'externalId,name,maxCapacity\nr1,Reimported,20\n' })).body.id,
    );
    expect(changed).toMatchObject({ created: 0, updated: 1 });
    const sessions = await allSessions(stack, key);
    expect(sessions).toHaveLength(2);
    expect(sessions.find((s) => s.externalId === 'r1').maxCapacity).toBe(20);
  });

  it('imports - a column mapping and a fixed value fill fields from other columns; NDJSON is read too', async () => {
    const { key } = await stack.newTenant();
    const file = 'Code,Title,Seats\nm1,Mapped,30\n';
    const mapping = { externalId: 'Code', name: 'Title', maxCapacity: 'Seats', isActive: { value: false } };
    const done = await ended(stack, key, (await upload(stack, key, { type: 'sessions', file, mapping })).body.id);
    expect(done).toMatchObject({ status: 'completed', created: 1 });
    const [session] = await allSessions(stack, key);
    expect(session).toMatchObject({ externalId: 'm1', name: 'Mapped', maxCapacity: 30, isActive: false });

    const date = today(3);
    const ndjson = `{"sessionExternalId":"m1","date":"${date}","capacity":7}\nnot json\n{"sessionExternalId":"nope","date":"${date}","capacity":7}\n`;
    const capacity = await ended(stack, key, (await upload(stack, key, { type: 'capacity', file: ndjson, name: 'dates.ndjson' })).body.id);
    expect(capacity).toMatchObject({ status: 'completed', created: 1, failedRows: 2 });
    expect(capacity.errors.map((e: any) => [e.line, e.column])).toEqual([
      [2, '(row)'],
      [3, 'sessionExternalId'],
    ]);
    const check = await stack.as(key)('GET', `/v1/capacity/check?sessionId=${session.id}&date=${date}&slots=1`);
    expect(check.body.availableSlots).toBe(7);
  });

  it('imports - migrated bookings take slots through the ledger: a row past capacity is refused, never oversold; re-imported, none is doubled', async () => {
    const { key } = await stack.newTenant();
    await ended(stack, key, (await upload(stack, key, { type: 'sessions', file: 'externalId,name,maxCapacity\ntour,Tour,5\n' })).body.id);
    const date = today(2);
    const file = `externalRef,sessionExternalId,date,adults,children,userId\nold-1,tour,${date},2,,ann\nold-2,tour,${date},1,1,\nold-3,tour,${date},2,,bob\n`;
    const stream = openStream(`${stack.base}/v1/stream?channels=bookings`, { authorization: `Bearer ${key}` });
    expect((await stream.response).status).toBe(200);
    const first = await ended(stack, key, (await upload(stack, key, { type: 'bookings', file })).body.id);
    expect(first).toMatchObject({ status: 'completed', created: 2, failedRows: 1 });
    expect(first.errors[0]).toMatchObject({ line: 4, column: 'adults' });
    const again = await ended(stack, key, (await upload(stack, key, { type: 'bookings', file })).body.id);
    expect(again).toMatchObject({ status: 'completed', created: 0, unchanged: 2, failedRows: 1 });
    const [session] = await allSessions(stack, key);
    const bookings = await stack.as(key)('GET', `/v1/bookings?sessionId=${session.id}&date=${date}`);
    expect(bookings.body.items).toHaveLength(2);
    expect(bookings.body.items.map((b: any) => b.userId).sort()).toEqual(['ann', null].sort());
    // Each imported booking is announced as any booking is, once (the re-import announces nothing).
    const announced = await eventually(() => {
      const created = stream.events.filter((e) => e.event === 'booking.created').map((e) => JSON.parse(e.data));
      return created.length >= 2 && created;
    });
    stream.close();
    expect(announced).toHaveLength(2);
    expect(announced).toEqual(expect.arrayContaining(bookings.body.items));
    // Nobody is notified of a migrated booking; a booking made afterwards notifies as always.
    const ann = await stack.userToken(key, 'ann');
    const later = await stack.as(ann)('POST', '/v1/bookings', { sessionId: session.id, date: today(3), adults: 1 });
    expect(later.status).toBe(201);
    const feed = await eventually(async () => {
      const res = await stack.as(ann)('GET', '/v1/notifications');
      return res.body.items.some((n: any) => n.data.bookingId === later.body.id) && res.body.items;
    });
    expect(feed.map((n: any) => n.data.bookingId)).toEqual([later.body.id]);
    const check = await stack.as(key)('GET', `/v1/capacity/check?sessionId=${session.id}&date=${date}&slots=1`);
    expect(check.body.availableSlots).toBe(1);
  });

  it('imports - bookings imported while API clients book the same dates: never oversold, each ledger the sum of its bookings', async () => {
    const { key } = await stack.newTenant();
    await ended(stack, key, (await upload(stack, key, { type: 'sessions', file: 'externalId,name,maxCapacity\nrush,Rush,30\n' })).body.id);
    const [session] = await allSessions(stack, key);
    const dates = [today(3), today(4)];
    const rows = Array.from({ length: 80 }, (_, i) => `rush-${i},rush,${dates[i % 2]},1`);
    const res = await upload(stack, key, { type: 'bookings', file: `externalRef,sessionExternalId,date,adults\n${rows.join('\n')}\n` });
    expect(res.status).toBe(202);
    const direct = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        stack.as(key)('POST', '/v1/bookings', { sessionId: session.id, date: dates[i % 2], adults: 1, children: 0 }),
      ),
    );
    const done = await ended(stack, key, res.body.id);
    const booked = direct.filter((r) => r.status === 201).length;
    expect(direct.every((r) => r.status === 201 || r.body.code === 'capacity_exhausted')).toBe(true);
    expect(done.created + done.failedRows).toBe(80);
    // Every seat taken once: 30 a date, by the import or the API, no more.
    expect(done.created + booked).toBe(60);
    for (const date of dates) {
      const check = await stack.as(key)('GET', `/v1/capacity/check?sessionId=${session.id}&date=${date}&slots=1`);
      expect(check.body.availableSlots).toBe(0);
      const listed = await stack.as(key)('GET', `/v1/bookings?sessionId=${session.id}&date=${date}&limit=100`);
      expect(listed.body.items).toHaveLength(30);
    }
  });

  it('imports - an atomic import with a refused row applies nothing', async () => {
    const { key } = await stack.newTenant();
    const file = 'externalId,name,maxCapacity\nok,Fine,10\nbad,Broken,x\n';
    const done = await ended(stack, key, (await upload(stack, key, { type: 'sessions', file, atomic: true })).body.id);
    expect(done).toMatchObject({ status: 'failed', failedRows: 1, created: 1 });
    expect(done.reason).toMatch(/nothing was applied/);
    expect(await allSessions(stack, key)).toHaveLength(0);
  });

  it('imports - bad uploads are refused with the field named, and an unreadable file fails with the reason', async () => {
    const { key } = await stack.newTenant();
    const noType = await upload(stack, key, { type: 'planets', file: 'a\n1\n' });
    expect(noType.status).toBe(400);
    expect(noType.body.errors[0].path).toBe('type');
    const badMapping = await upload(stack, key, { type: 'sessions', file: 'a\n1\n', mapping: { name: 5 } });
    expect(badMapping.status).toBe(400);
    expect(badMapping.body.errors[0].path).toBe('mapping');
    const broken = await ended(
      stack,
      key,
      (await upload(stack, key, { type: 'sessions', file: 'externalId,name\n"open,quote\n' })).body.id,
    );
    expect(broken).toMatchObject({ status: 'failed' });
    expect(broken.reason).toMatch(/CSV/);
  });

  it('imports - a file larger than one message arrives in chunks, rows split across them intact; past the limit it is 413', async () => {
    const { key } = await stack.newTenant();
    // ~1.5 MB: past the JSON body limit and three chunks, with one long description per row.
    const filler = 'x'.repeat(1900);
    const rows = Array.from({ length: 800 }, (_, i) => `big-${i},"Big, ${i}",${filler},5`);
    const file = `externalId,name,description,maxCapacity\n${rows.join('\n')}\n`;
    expect(file.length).toBeGreaterThan(1024 * 1024);
    // A dry run: every row read and checked, none written (writing 800 sessions would only make the test slow).
    const done = await ended(stack, key, (await upload(stack, key, { type: 'sessions', file, dryRun: true })).body.id, 60_000);
    expect(done).toMatchObject({ status: 'previewed', totalRows: 800, created: 800, failedRows: 0 });

    const tooBig = await upload(stack, key, { type: 'sessions', file: 'a'.repeat(uploadLimit + 1) });
    expect(tooBig.status).toBe(413);
  }, 90_000);

  it('imports - the same Idempotency-Key and file make one import', async () => {
    const { key } = await stack.newTenant();
    const file = 'externalId,name,maxCapacity\nk1,Keyed,3\n';
    const first = await upload(stack, key, { type: 'sessions', file, key: 'import-1' });
    const second = await upload(stack, key, { type: 'sessions', file, key: 'import-1' });
    expect(second.body.id).toBe(first.body.id);
    const list = await stack.as(key)('GET', '/v1/imports');
    expect(list.body.items).toHaveLength(1);
  });
});

describe('imports with the capacity service killed mid-import', () => {
  let stack: Stack;
  let child: ChildProcess | undefined;
  const env = { IMPORT_BATCH_ROWS: '10', IMPORT_MAX_RUNNING: '1' };

  beforeAll(async () => {
    stack = await startStack({ capacityInProcess: false, gateway: { RPC_TIMEOUT_MS: '3000' } });
    child = await startCapacityProcess(stack, env);
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await stack.stop();
  });

  it('faults - an import killed mid-file resumes in the next process and applies every row exactly once', async () => {
    const { key } = await stack.newTenant();
    const total = 150;
    const rows = Array.from({ length: total }, (_, i) => `k-${i},Session ${i},${10 + (i % 5)}`);
    const res = await upload(stack, key, { type: 'sessions', file: `externalId,name,maxCapacity\n${rows.join('\n')}\n` });
    expect(res.status).toBe(202);
    const midway = await eventually(async () => {
      const now = await stack
        .as(key)('GET', `/v1/imports/${res.body.id}`)
        .catch(() => undefined);
      return now?.body?.processedRows > 0 && now?.body;
    }, 30_000);
    // One import at a time for this tenant: another is refused while this one runs.
    const more = await upload(stack, key, { type: 'sessions', file: 'externalId,name,maxCapacity\nz,Z,1\n', dryRun: true });
    child?.kill('SIGKILL');
    expect(midway.processedRows).toBeLessThan(total);
    expect(more.status).toBe(429);
    expect(more.body.code).toBe('too_many_jobs');
    child = await startCapacityProcess(stack, env);

    const done = await ended(stack, key, res.body.id, 90_000);
    expect(done).toMatchObject({ status: 'completed', totalRows: total, processedRows: total, created: total, updated: 0, failedRows: 0 });
    const sessions = await allSessions(stack, key);
    expect(sessions).toHaveLength(total);
    expect(new Set(sessions.map((s) => s.externalId)).size).toBe(total);
  }, 150_000);

  it('faults - a bookings import killed mid-file takes every seat exactly once after the restart', async () => {
    const { key } = await stack.newTenant();
    const sessions = await upload(stack, key, { type: 'sessions', file: 'externalId,name,maxCapacity\nbig,Big,1000\n' });
    await ended(stack, key, sessions.body.id, 60_000);
    const total = 300;
    const dates = [today(5), today(6), today(7)];
    const rows = Array.from({ length: total }, (_, i) => `bk-${i},big,${dates[i % 3]},1`);
    const res = await upload(stack, key, { type: 'bookings', file: `externalRef,sessionExternalId,date,adults\n${rows.join('\n')}\n` });
    expect(res.status).toBe(202);
    await eventually(async () => {
      const now = await stack
        .as(key)('GET', `/v1/imports/${res.body.id}`)
        .catch(() => undefined);
      return now?.body?.processedRows > 0;
    }, 30_000);
    child?.kill('SIGKILL');
    child = await startCapacityProcess(stack, env);

    const done = await ended(stack, key, res.body.id, 90_000);
    expect(done).toMatchObject({ status: 'completed', processedRows: total, created: total, unchanged: 0, failedRows: 0 });
    const [session] = await allSessions(stack, key);
    for (const date of dates) {
      const check = await stack.as(key)('GET', `/v1/capacity/check?sessionId=${session.id}&date=${date}&slots=1`);
      expect(check.body.availableSlots).toBe(1000 - total / 3);
    }
  }, 150_000);
});
