import {
  type Clock,
  IdLists,
  type ImportDoc,
  Imports,
  importLimitsOf,
  type Logger,
  type ReportDoc,
  Reports,
  reportLimitsOf,
} from '@allot/kit';
import type { CapacityConfig, CapacityService } from './config';
import { bookingRows, capacityRows, sessionRows } from './imports';
import { importSlice, queueExpiry, reportJob } from './job-kinds';
import { Ledger } from './ledger';
import { bookingReport, occupancyReport } from './reports';
import { type BookingDoc, BookingStore } from './store/bookings';
import { ImportClaims } from './store/import-claims';
import { LimitStore } from './store/limits';
import { type QueueDoc, type QueueEffects, QueueStore } from './store/queue';
import { ReportRowStore } from './store/report-rows';
import { type SessionDoc, SessionStore } from './store/sessions';

/** What the capacity handlers, jobs and tasks work with: settings, time, events and the stores. */
export interface Capacity {
  config: CapacityConfig;
  clock: Clock;
  log: Logger;
  /** Makes one of the capacity events of the contracts' catalog. */
  event: CapacityService['event'];
  sessions: SessionStore;
  ledger: Ledger;
  bookings: BookingStore;
  queue: QueueStore;
  /** Each tenant's limits against hoarding. */
  limits: LimitStore;
  /** Ids of what keyed (idempotent) requests create. */
  requestIds: CapacityService['requestIds'];
  /** Bulk imports of sessions, dates' capacity and bookings. */
  imports: Imports;
  /** The ids of imported bookings, claimed by the batch that makes each. */
  importClaims: ImportClaims;
  /** Reports of bookings and occupancy. */
  reports: Reports;
}

/** The composition root: the stores on the service's database, wired to its outbox and jobs. */
export function capacityContext(service: CapacityService): Capacity {
  const bookings = new BookingStore(service.outboxCollection<BookingDoc>('bookings'), IdLists.of(service.db, 'user_bookings'));
  const queue = service.outboxCollection<QueueDoc>('queue', async (entry) => {
    // A new waitlist entry gets its durable expiry before it is announced.
    const expiry = (entry.effects as QueueEffects | undefined)?.expiry;
    if (expiry) {
      const { entryId, tenantId, dueAt } = expiry;
      await service.jobs.schedule(queueExpiry, { id: entryId, tenantId, dueAt: new Date(dueAt), payload: { tenantId, entryId } });
    }
    return entry.envelope;
  });
  // The import row kinds work with the context they are part of: it is completed once they exist.
  const cap: Capacity = {
    config: service.config,
    clock: service.clock,
    log: service.log,
    event: (tenantId, type, data) => service.event(tenantId, type, data),
    sessions: new SessionStore(service.outboxCollection<SessionDoc>('sessions'), service.clock),
    ledger: new Ledger(service, bookings, service.log),
    bookings,
    queue: new QueueStore(queue),
    limits: new LimitStore(service.db, service.clock),
    requestIds: service.requestIds,
    imports: null as never,
    importClaims: ImportClaims.of(service.db),
    reports: null as never,
  };
  cap.imports = new Imports(
    service.db,
    service.outboxCollection<ImportDoc>('imports'),
    (tenantId, progress) => service.event(tenantId, 'import.updated', progress),
    service.clock,
    { sessions: sessionRows(cap), capacity: capacityRows(cap), bookings: bookingRows(cap) },
    () => importLimitsOf(service.config),
    (slice) =>
      service.jobs.schedule(importSlice, {
        id: `${slice.importId}-${slice.phase}-${slice.from}`,
        tenantId: slice.tenantId,
        dueAt: service.clock.now(),
        payload: slice,
      }),
  );
  const rows = new ReportRowStore(service.db);
  cap.reports = new Reports(
    service.db,
    service.outboxCollection<ReportDoc>('reports'),
    (tenantId, update) => service.event(tenantId, 'report.updated', update),
    service.clock,
    'capacity',
    { bookings: bookingReport(rows), occupancy: occupancyReport(rows) },
    () => reportLimitsOf(service.config),
    (tenantId, reportId) =>
      service.jobs.schedule(reportJob, { id: reportId, tenantId, dueAt: service.clock.now(), payload: { tenantId, reportId } }),
  );
  return cap;
}
