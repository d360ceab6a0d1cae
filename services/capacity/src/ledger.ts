import { createHash } from 'node:crypto';
import { AppError, type Booking, type CapacityAlertType, type EventEnvelope, quantity } from '@allot/contracts';
import { LedgerEngine, type LedgerPlan, type Logger, type OutboxEntry } from '@allot/kit';
import type { CapacityService } from './config';
import { type Decision, decideBatch, type SlotChange } from './domain/ledger';
import { holdExpiry } from './job-kinds';
import type { AcrossTenants } from './store/across-tenants';
import { type BookingStore, toBooking } from './store/bookings';
import {
  type ImportedTakes,
  type Inflight,
  importedBookings,
  inflightKey,
  type LedgerFigures,
  releaseId,
  type SlotDoc,
  SlotStore,
  slotId,
  snapshotOf,
} from './store/slots';

interface Place {
  tenantId: string;
  sessionId: string;
  date: string;
  /** The session's default capacity, read when the date's ledger must be created. */
  defaultCapacity: () => Promise<number>;
}

type LedgerRequest =
  | (Place & { kind: 'take'; booking: Booking; reused: boolean; importId?: string })
  | (Place & { kind: 'release'; booking: Booking & { status: 'cancelled' | 'expired' } })
  | (Place & { kind: 'capacity'; to: number; scope: 'date' | 'default'; reason: string | null });

export type LedgerResult =
  /** Done (or, `duplicate`, done before: a retry); `booking` is the booking a take made, `from` a capacity change's old value. */
  | { ok: true; doc: SlotDoc; booking?: Booking; duplicate?: boolean; from?: number }
  | { ok: false; reason: 'exhausted' | 'below_booked' | 'overridden'; available: number; booked: number; doc: SlotDoc };

/**
 * Every change of slots goes through here: the kit's ledger engine, with one ledger per
 * session/date. After a batch's write, its other half: new bookings are written with one bulk
 * insert, released bookings lose their `releasing` mark, holds get their expiry timers, and the
 * events are published. Until then a change stays `inflight` on the ledger: a take is a
 * duplicate if its booking is in flight or exists (a booking is written before its change leaves
 * the ledger, and leaving changes the version); a release, if it is in flight or its booking is
 * no longer marked (unmarked before its change leaves the ledger).
 */
export class Ledger extends LedgerEngine<SlotDoc, LedgerRequest, LedgerResult, LedgerFigures> {
  private readonly slots: SlotStore;

  constructor(
    /** Of the service, what the ledger uses: its collection with an outbox, the time, its events and delayed jobs. */
    private readonly service: Pick<CapacityService, 'outboxCollection' | 'clock' | 'event' | 'events' | 'jobs'>,
    private readonly bookings: BookingStore,
    log: Logger,
  ) {
    // The relay's hook is only called after construction, when `this` is the ledger.
    const slots = new SlotStore(
      service.outboxCollection<SlotDoc>('slots', (entry, doc) => (this as Ledger).prepare(entry, doc as SlotDoc)),
    );
    super(slots, service.clock, log);
    this.slots = slots;
  }

  /** The ledger of a session/date; null until someone booked it or set its capacity. */
  find(tenantId: string, sessionId: string, date: string): Promise<SlotDoc | null> {
    return this.slots.get(tenantId, sessionId, date);
  }

  /** The ledger of a session/date, created at `defaultCapacity` if it has none yet. */
  ensure(tenantId: string, sessionId: string, date: string, defaultCapacity: number): Promise<SlotDoc> {
    return this.slots.ensure(tenantId, sessionId, date, defaultCapacity);
  }

  /** The figures of a session's ledgers, optionally within dates. */
  listForSession(tenantId: string, sessionId: string, from?: string, to?: string): Promise<SlotDoc[]> {
    return this.slots.listForSession(tenantId, sessionId, from, to);
  }

  /** A page of every tenant's ledgers (their figures), for read models to rebuild from. */
  acrossTenants(query: AcrossTenants): Promise<SlotDoc[]> {
    return this.slots.acrossTenants(query);
  }

  /**
   * Takes a new booking's slots. `reused`: the booking's id may have been taken before (a retry
   * under an idempotency key, a waitlist entry's booking), so a booking already there is
   * answered as a duplicate instead of taking slots twice.
   */
  take(place: Place, booking: Booking, reused = false): Promise<LedgerResult> {
    return this.submit({ ...place, kind: 'take', booking, reused });
  }

  /**
   * Takes the slots of a booking an import brings from another system: a confirmed regular
   * booking made `createdAt`. It is written on the ledger compactly, and announced once written
   * with an event id derived from the booking, not from the ledger's outbox: a file's worth of
   * events stored and cleared on ledgers would cost more than the bookings themselves, and the
   * derived id lets the sweep or a rerun of the batch announce it again as the same event.
   * `retry`: the batch ran before, so a booking it already took is answered as a duplicate.
   */
  importTake(
    place: Place,
    take: ImportedTakes['bookings'][number],
    from: { importId: string; createdAt: string; retry: boolean },
  ): Promise<LedgerResult> {
    const { importId, createdAt, retry } = from;
    const [booking] = importedBookings(place, { id: take.id, kind: 'import', at: createdAt, importId, createdAt, bookings: [take] });
    return this.submit({ ...place, kind: 'take', booking: booking as Booking, reused: retry, importId });
  }

  /** Gives back the slots of a booking already marked cancelled or expired (once, however often asked). */
  release(place: Place, booking: Booking & { status: 'cancelled' | 'expired' }): Promise<LedgerResult> {
    return this.submit({ ...place, kind: 'release', booking });
  }

  /** Sets one date's capacity, or (`default`) follows a new default unless the date has its own. */
  adjust(place: Place, to: number, scope: 'date' | 'default', reason: string | null): Promise<LedgerResult> {
    return this.submit({ ...place, kind: 'capacity', to, scope, reason });
  }

  private async submit(request: LedgerRequest): Promise<LedgerResult> {
    return (await this.submitChange(slotId(request.sessionId, request.date), request)) as LedgerResult;
  }

  /** A date's ledger is created on its first change, at the session's default capacity. */
  protected override async load(_key: string, requests: LedgerRequest[]): Promise<SlotDoc | null> {
    const place = requests[0];
    if (!place) return null;
    return this.slots.create(place.tenantId, place.sessionId, place.date, await place.defaultCapacity());
  }

  /** Records an alert flip on the ledger (a field its version does not guard), remembered as written. */
  flipAlert(id: string, type: CapacityAlertType, raised: boolean, event?: EventEnvelope): Promise<SlotDoc | null> {
    this.amend(id, (doc) => ({ ...doc, alerts: { ...doc.alerts, [type]: raised } }));
    return this.slots.setAlert(id, type, raised, event);
  }

  /** Decides a batch against `doc`: what is accepted, the figures after it, its events and each request's result. */
  protected async plan(doc: SlotDoc, requests: LedgerRequest[]): Promise<LedgerPlan<SlotDoc, LedgerFigures, LedgerResult>> {
    const inflight = new Map(doc.inflight.map((change) => [inflightKey(change), change]));
    const takenInFlight = new Map<string, Booking>();
    for (const change of doc.inflight) {
      if (change.kind === 'take') takenInFlight.set(change.booking.id, change.booking);
      if (change.kind === 'import') for (const booking of importedBookings(doc, change)) takenInFlight.set(booking.id, booking);
    }
    const reused = requests.flatMap((r) => (r.kind === 'take' && r.reused && !takenInFlight.has(r.booking.id) ? [r.booking.id] : []));
    const existing = await this.bookings.existing(doc.tenantId, reused);
    const releases = requests.flatMap((r) => (r.kind === 'release' && !inflight.has(releaseId(r.booking.id)) ? [r.booking.id] : []));
    const stillMarked = releases.length ? await this.bookings.releasing(releases) : new Set<string>();

    // Each request is either answered from what is already there (a duplicate), or a change to decide.
    // A second take of one booking in the same batch shares the first one's outcome.
    const firstInBatch = new Map<string, number>();
    const sameAs = new Map<number, number>();
    const known: (Booking | true | undefined)[] = requests.map((r, index) => {
      if (r.kind === 'take') {
        const stored = existing.find((e) => e._id === r.booking.id);
        const duplicate = takenInFlight.get(r.booking.id) ?? (stored && toBooking(stored));
        const first = firstInBatch.get(r.booking.id);
        if (!duplicate && first !== undefined) sameAs.set(index, first);
        else firstInBatch.set(r.booking.id, index);
        return duplicate;
      }
      if (r.kind === 'release') return inflight.has(releaseId(r.booking.id)) || !stillMarked.has(r.booking.id) ? true : undefined;
      return undefined;
    });
    const changes: { index: number; change: SlotChange }[] = [];
    requests.forEach((r, index) => {
      if (known[index] !== undefined || sameAs.has(index)) return;
      if (r.kind === 'take') changes.push({ index, change: { kind: 'take', slots: r.booking.slots } });
      else if (r.kind === 'release') changes.push({ index, change: { kind: 'release', slots: r.booking.slots } });
      else changes.push({ index, change: { kind: 'capacity', to: r.to, scope: r.scope } });
    });
    const start = { maxSlots: doc.maxSlots, override: doc.override, booked: doc.booked, available: doc.available };
    const { figures, decisions } = decideBatch(
      start,
      changes.map((c) => c.change),
    );
    const decided = new Map<number, Decision>(changes.map((c, i) => [c.index, decisions[i] as Decision]));

    const at = this.service.clock.now().toISOString();
    const slots = snapshotOf({ ...doc, ...figures, version: doc.version + 1 });
    const accepted: Inflight[] = [];
    const events: EventEnvelope[] = [];
    /** Imported takes, one compact change per creation time (in practice: per import batch). */
    const imported = new Map<string, ImportedTakes>();
    requests.forEach((r, index) => {
      if (!decided.get(index)?.accepted) return;
      if (r.kind === 'take' && r.importId) {
        const { id, adults, children, userId, createdAt } = r.booking;
        const change = imported.get(createdAt) ?? { id: `import-${id}`, kind: 'import', at, importId: r.importId, createdAt, bookings: [] };
        if (!imported.has(createdAt)) accepted.push(change);
        imported.set(createdAt, change);
        change.bookings.push({ id, adults, children, userId });
      } else if (r.kind === 'take') {
        accepted.push({ id: r.booking.id, kind: 'take', booking: r.booking, at });
        events.push(this.service.event(r.tenantId, `booking.${r.booking.status as 'held' | 'confirmed'}`, { booking: r.booking, slots }));
      } else if (r.kind === 'release') {
        accepted.push({ id: releaseId(r.booking.id), kind: 'release', bookingId: r.booking.id, at });
        events.push(this.service.event(r.tenantId, `booking.${r.booking.status}`, { booking: r.booking, slots }));
      } else {
        const from = (decided.get(index) as { from: number }).from;
        events.push(
          this.service.event(r.tenantId, 'capacity.adjusted', {
            sessionId: r.sessionId,
            date: r.date,
            oldCapacity: from,
            newCapacity: r.to,
            reason: r.reason,
            slots,
          }),
        );
      }
    });

    const results = (written: SlotDoc): LedgerResult[] =>
      requests.map((r, index) => {
        const first = sameAs.get(index);
        if (first !== undefined) {
          const decision = decided.get(first);
          if (decision?.accepted)
            return { ok: true, doc: written, duplicate: true, booking: (requests[first] as { booking: Booking }).booking };
          if (decision) return { ok: false, reason: decision.reason, available: decision.available, booked: decision.booked, doc: written };
        }
        const already = known[index];
        if (already !== undefined) return { ok: true, doc: written, duplicate: true, booking: already === true ? undefined : already };
        const decision = decided.get(index) as Decision;
        if (!decision.accepted)
          return { ok: false, reason: decision.reason, available: decision.available, booked: decision.booked, doc: written };
        return { ok: true, doc: written, booking: r.kind === 'take' ? r.booking : undefined, from: decision.from };
      });
    // The batch's figures changed at one moment: every event carrying them says so, so read models
    // that keep the first event of a version (whichever arrives first) agree on when.
    for (const event of events) event.occurredAt = at;
    return { figures, accepted, events, results, changed: decisions.some((d) => d.accepted) };
  }

  /**
   * Writes the taken bookings, unmarks the released ones, schedules hold expiries: one command
   * each for every ledger. Then announces the imported bookings (the others are announced from
   * the ledger's outbox).
   */
  protected async complete(batches: { doc: SlotDoc; changes: Inflight[] }[]): Promise<void> {
    const takes = batches.flatMap(({ doc, changes }) =>
      changes.flatMap((c) => {
        if (c.kind === 'take') return [{ tenantId: doc.tenantId, booking: c.booking }];
        if (c.kind === 'import') return importedBookings(doc, c).map((booking) => ({ tenantId: doc.tenantId, booking }));
        return [];
      }),
    );
    await this.bookings.insertMany(takes);
    await this.bookings.released(batches.flatMap(({ changes }) => changes.flatMap((c) => (c.kind === 'release' ? [c.bookingId] : []))));
    const holds = takes.filter(({ booking }) => booking.status === 'held' && booking.holdExpiresAt);
    await this.service.jobs.scheduleMany(
      holdExpiry,
      holds.map(({ tenantId, booking: b }) => ({
        id: b.id,
        tenantId,
        dueAt: new Date(b.holdExpiresAt as string),
        payload: { tenantId, bookingId: b.id },
      })),
    );
    const announcements = batches.flatMap(({ doc, changes }) =>
      changes.flatMap((c) =>
        c.kind === 'import' ? importedBookings(doc, c).map((booking) => this.announceImported(doc, c, booking)) : [],
      ),
    );
    await Promise.all(announcements.map((event) => this.service.events.publish(event)));
  }

  /** `booking.confirmed` of an imported booking, with the ledger's figures as written; its id is derived from the booking's. */
  private announceImported(doc: SlotDoc, change: ImportedTakes, booking: Booking): EventEnvelope {
    const event = this.service.event(doc.tenantId, 'booking.confirmed', { booking, slots: snapshotOf(doc), importId: change.importId });
    event.occurredAt = change.at; // when its batch was decided, as the batch's other events say
    const id = `evt_${createHash('sha256').update(`import\u0000${booking.id}`).digest('base64url').slice(0, 26)}`;
    return { ...event, id };
  }

  /**
   * Before a stored ledger event is published by the relay's sweep (a crash before its batch was
   * finished): the change's other half is done first, so the event never announces a booking
   * that cannot be read.
   */
  private async prepare(entry: OutboxEntry, doc: SlotDoc): Promise<EventEnvelope> {
    const id = (entry.envelope.data as { booking?: Booking }).booking?.id;
    if (id)
      await this.finishOpen(
        doc,
        doc.inflight.filter((c) => [id, releaseId(id)].includes(inflightKey(c))),
      );
    return entry.envelope;
  }
}

/** The slots of a session/date that nobody could take: `capacity_exhausted` with what is left. */
export function exhausted(available: number | undefined): AppError {
  const left = Math.max(0, available ?? 0);
  return new AppError('capacity_exhausted', `Only ${quantity(left, 'slot')} left`, { availableSlots: left });
}
