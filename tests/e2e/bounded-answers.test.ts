/**
 * Answers that grow with what a tenant stores (sessions, waitlist entries, notifications) come a
 * page at a time, each page far below what one NATS message carries: a legal request never
 * ends a process. Capacity and availability run as child processes, so a crash would show.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Stack, startAvailabilityProcess, startCapacityProcess, startStack, today } from './stack';

/** Runs `make` for 0..n-1, `width` at a time. */
async function inBatches<T>(n: number, width: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const made: T[] = [];
  for (let start = 0; start < n; start += width) {
    made.push(...(await Promise.all(Array.from({ length: Math.min(width, n - start) }, (_, k) => make(start + k)))));
  }
  return made;
}

describe('bounded answers through the gateway', () => {
  let stack: Stack;
  let capacity: ChildProcess;
  let availability: ChildProcess;

  beforeAll(async () => {
    stack = await startStack({ capacityInProcess: false, notifications: {} });
    capacity = await startCapacityProcess(stack);
    availability = await startAvailabilityProcess(stack);
  }, 60_000);
  afterAll(async () => {
    for (const child of [availability, capacity]) {
      if (child?.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await stack.stop();
  });

  const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

  it('range - 92 days of 80 sessions with long names come in pages that cover every session; availability keeps answering', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    const sessions = await inBatches(80, 10, async (i) => {
      const res = await admin('POST', '/v1/sessions', { name: `Session ${i} `.padEnd(200, 'x'), maxCapacity: 10 });
      expect(res.status).toBe(201);
      return res.body.id as string;
    });
    await eventually(async () => (await admin('GET', `/v1/availability?date=${today(0)}&limit=200`)).body.items?.length === 80, 60_000);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await admin('GET', `/v1/availability/range?from=${today(0)}&to=${today(91)}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body.dates)).toHaveLength(92);
      const ids = res.body.dates[today(0)].items.map((a: { sessionId: string }) => a.sessionId);
      for (const date of Object.keys(res.body.dates)) {
        expect(res.body.dates[date].items.map((a: { sessionId: string }) => a.sessionId)).toEqual(ids);
      }
      seen.push(...ids);
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual([...sessions].sort());

    // Alerts of every session come a page of sessions at a time too (a date nobody booked has none).
    const alerts = await admin('GET', '/v1/availability/alerts?limit=30');
    expect(alerts.status).toBe(200);
    expect(alerts.body).toEqual({ items: [], nextCursor: [...sessions].sort()[29] });

    expect(alive(availability)).toBe(true);
    const one = await admin('GET', `/v1/availability?date=${today(3)}&sessionId=${sessions[0]}`);
    expect(one.body).toMatchObject({ sessionId: sessions[0], availableSlots: 10 });
  });

  it('rebuild - a refresh over 501 sessions with 2,000-character descriptions completes; capacity keeps answering', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    await inBatches(501, 20, async (i) => {
      const res = await admin('POST', '/v1/sessions', { name: `Tour ${i}`, description: 'd'.repeat(2000), maxCapacity: 5 });
      expect(res.status).toBe(201);
    });

    const refreshed = await admin('POST', '/v1/availability/refresh', { date: today(1) });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.items).toHaveLength(50);
    expect(refreshed.body.nextCursor).toBe(refreshed.body.items[49].sessionId);

    let total = 0;
    let cursor: string | null = null;
    do {
      const res = await admin('GET', `/v1/availability?date=${today(1)}&limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      total += res.body.items.length;
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(total).toBe(501);
    // Today's capacity alerts of every session, a page of sessions at a time (none has an alert).
    let alertPages = 0;
    cursor = null;
    do {
      const res = await admin('GET', `/v1/capacity/alerts?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.items).toEqual([]);
      cursor = res.body.nextCursor;
      alertPages++;
    } while (cursor);
    expect(alertPages).toBe(3);

    expect(alive(capacity)).toBe(true);
    expect(alive(availability)).toBe(true);
    expect((await admin('GET', '/v1/sessions?limit=1')).status).toBe(200);
  });

  it('queue status - totals of the whole waitlist, entries a page at a time in position order', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    const date = today(2);
    const session = (await admin('POST', '/v1/sessions', { name: 'Full', maxCapacity: 1 })).body;
    expect((await admin('POST', '/v1/bookings', { sessionId: session.id, date, adults: 1 })).status).toBe(201);
    await inBatches(120, 10, async (i) => {
      const res = await admin('POST', '/v1/queue', { sessionId: session.id, date, requestedSlots: 1, guestId: `guest-${i}` });
      expect(res.status).toBe(201);
    });

    const positions: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await admin('GET', `/v1/queue/status?sessionId=${session.id}&date=${date}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ totalInQueue: 120, totalRequestedSlots: 120 });
      expect(res.body.entries.length).toBeLessThanOrEqual(50);
      positions.push(...res.body.entries.map((e: { position: number }) => e.position));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(positions).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    const bad = await admin('GET', `/v1/queue/status?sessionId=${session.id}&date=${date}&cursor=nope`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'cursor' })]);
  });

  it('notifications - a page of long bulk messages stays within bounds, and the next pages hold the rest', async () => {
    const { key } = await stack.newTenant();
    const admin = stack.as(key);
    // Control characters travel as six bytes each in JSON: 5,000 of them make a 30 kB message.
    const message = '\u0001'.repeat(5000);
    for (let sent = 0; sent < 40; sent += 5) {
      const jobs = await inBatches(5, 5, async () => {
        const res = await admin('POST', '/v1/notifications/bulk', { userIds: ['reader'], type: 'announcement', title: 'Long', message });
        expect(res.status).toBe(202);
        return res.body.jobId as string;
      });
      for (const jobId of jobs) {
        await eventually(async () => (await admin('GET', `/v1/notifications/bulk/${jobId}`)).body.status === 'completed', 30_000);
      }
    }

    const reader = stack.as(await stack.userToken(key, 'reader'));
    const first = await reader('GET', '/v1/notifications?limit=200');
    expect(first.status).toBe(200);
    expect(first.body.unreadCount).toBe(40);
    expect(first.body.items.length).toBeLessThan(40);
    expect(first.body.items.every((n: { message: string }) => n.message === message)).toBe(true);
    let total = first.body.items.length;
    let cursor: string | null = first.body.nextCursor;
    while (cursor) {
      const res = await reader('GET', `/v1/notifications?limit=200&cursor=${cursor}`);
      expect(res.status).toBe(200);
      total += res.body.items.length;
      cursor = res.body.nextCursor;
    }
    expect(total).toBe(40);
  }, 120_000); // 40 bulk sends, each waited for: slow on a busy machine
});
