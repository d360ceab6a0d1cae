import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildAsyncApi } from '../src/asyncapi';
import { eventCatalog } from '../src/catalog';
import { AppError, errorStatus, validationError } from '../src/errors';
import { IsoDate } from '../src/primitives';
import { eventSubject, parseEventSubject, rpcSubject } from '../src/subjects';

describe('contracts', () => {
  it('subjects - follow rpc.<service>.<op> and evt.<service>.<tenant>.<aggregate>.<verb>', () => {
    expect(rpcSubject('capacity', 'booking.create')).toBe('rpc.capacity.booking.create');
    const subject = eventSubject('capacity', 't_01J', 'booking.confirmed');
    expect(subject).toBe('evt.capacity.t_01J.booking.confirmed');
    expect(parseEventSubject(subject)).toEqual({ service: 'capacity', tenantId: 't_01J', type: 'booking.confirmed' });
  });

  it('subjects - a tenant id that would break the subject is refused', () => {
    expect(() => eventSubject('capacity', 'a.b', 'booking.confirmed')).toThrow(/tenantId/);
    expect(() => eventSubject('capacity', 't *', 'booking.confirmed')).toThrow(/tenantId/);
  });

  it('dates - only real calendar dates in YYYY-MM-DD pass', () => {
    expect(IsoDate.safeParse('2028-02-29').success).toBe(true);
    expect(IsoDate.safeParse('2027-02-29').success).toBe(false);
    expect(IsoDate.safeParse('2027-13-01').success).toBe(false);
    expect(IsoDate.safeParse('27-01-01').success).toBe(false);
    expect(IsoDate.safeParse('2000-02-29').success).toBe(true);
    expect(IsoDate.safeParse('2100-02-29').success).toBe(false);
  });

  it('dates - every day from 2000 to 2100 passes, and no other YYYY-MM-DD does, as the calendar says', () => {
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    const disagreements: string[] = [];
    for (let year = 2000; year <= 2100; year++)
      for (let month = 0; month <= 13; month++)
        for (let day = 0; day <= 32; day++) {
          const s = `${year}-${pad(month, 2)}-${pad(day, 2)}`;
          const date = new Date(`${s}T00:00:00Z`);
          const real = !Number.isNaN(date.getTime()) && date.toISOString().startsWith(s);
          if (IsoDate.safeParse(s).success !== real) disagreements.push(s);
        }
    expect(disagreements).toEqual([]);
  });

  it('errors - validation errors name every offending field, unknown fields included', () => {
    const schema = z.strictObject({ adults: z.number().int().min(1), date: IsoDate });
    const result = schema.safeParse({ adults: 'two', date: '2027-02-30', extra: true });
    const error = validationError((result as { error: z.ZodError }).error);
    expect(error.status).toBe(400);
    const paths = (error.details!.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(['adults', 'date', 'extra']);
  });

  it('errors - every code maps to the status the error table of docs/api.md gives it, and the table lists every code', () => {
    const guide = readFileSync(path.resolve(__dirname, '../../../docs/api.md'), 'utf8');
    const documented = Object.fromEntries(
      [...guide.matchAll(/^\| `([a-z_]+)` +\| (\d{3}) /gm)].map(([, code, status]) => [code, Number(status)]),
    );
    expect(documented).toEqual(errorStatus);
    expect(new AppError('capacity_exhausted', 'x').status).toBe(409);
  });

  it('asyncapi - lists every catalogued event with its subject and payload', () => {
    const doc = buildAsyncApi('test');
    const addresses = Object.values(doc.channels).map((c) => (c as { address: string }).address);
    for (const [service, events] of Object.entries(eventCatalog)) {
      for (const type of Object.keys(events)) expect(addresses).toContain(`evt.${service}.{tenantId}.${type}`);
    }
    const message = doc.components.messages.evt_capacity_booking_confirmed as { payload: { properties: Record<string, unknown> } };
    expect(Object.keys(message.payload.properties)).toEqual(
      expect.arrayContaining(['id', 'type', 'version', 'tenantId', 'occurredAt', 'source', 'data']),
    );
  });

  it('asyncapi - names the NATS servers integrators connect to', () => {
    const doc = buildAsyncApi('test');
    expect(Object.values(doc.servers).map((server) => server.protocol)).toEqual(['nats', 'nats']);
    expect(doc.servers.local.host).toBe('localhost:{port}');
    expect(doc.servers.local.variables.port.default).toBe('4222');
  });
});
