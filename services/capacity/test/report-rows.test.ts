import { newId, type ReportQuery } from '@allot/kit';
import { describe, expect, it } from 'vitest';
import { bookingReport } from '../src/reports';
import { ReportRowStore } from '../src/store/report-rows';
import { capacityUnderTest } from './service-under-test';

describe('capacity: where a bookings report ends, for its percentage', () => {
  const under = capacityUnderTest();
  const db = () => under.mongo.db(under.env.MONGO_DB);
  const query = (q: Partial<ReportQuery>): ReportQuery => ({ from: null, to: null, sessionId: null, sku: null, userId: null, ...q });

  it("the day after the range's last ledger date (of the session, if asked), or null without one", async () => {
    const tenantId = newId('t');
    const slot = (sessionId: string, date: string) => ({ _id: `${sessionId}:${date}`, tenantId, sessionId, date, booked: 1 });
    await db()
      .collection('slots')
      .insertMany([slot('ses_a', '2030-01-05'), slot('ses_a', '2030-02-10'), slot('ses_b', '2030-03-01')] as never[]);
    const report = bookingReport(new ReportRowStore(db()));
    if (!('endOf' in report) || !report.endOf) throw new Error('the bookings report tells no end');
    const endOf = report.endOf;
    expect(await endOf(tenantId, query({}))).toBe('2030-03-02');
    expect(await endOf(tenantId, query({ sessionId: 'ses_a' }))).toBe('2030-02-11');
    expect(await endOf(tenantId, query({ to: '2030-02-28' }))).toBe('2030-02-11');
    expect(await endOf(tenantId, query({ from: '2030-04-01' }))).toBeNull();
    expect(await endOf(newId('t'), query({}))).toBeNull();
  });
});
