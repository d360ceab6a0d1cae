import { AppError, type Booking, type CapacityAlertType, type EventEnvelope, quantity } from '@allot/contracts';
import { assertBeforeDeadline, GroupCommit, type Logger, type OutboxEntry } from '@allot/kit';
import type { CapacityService } from './context';
import { type Decision, decideBatch, type SlotChange } from './domain/ledger';
import { type BookingStore, toBooking } from './store/bookings';
import { type Inflight, releaseId, type SlotDoc, SlotStore, slotId, snapshotOf } from './store/slots';

interface Place {
  tenantId: string;
  sessionId: string;
  date: string;
  /** The session's default capacity, read when the date's ledger must be created. */
  defaultCapacity: () => Promise<number>;
}

type LedgerRequest =
  | (Place & { kind: 'take'; booking: Booking; reused: boolean })
  | (Place & { kind: 'release'; booking: Booking & { status: 'cancelled' | 'expired' } })
  | (Place & { kind: 'capacity'; to: number; scope: 'date' | 'default'; reason: string | null })
  | { kind: 'tidy' };

export type LedgerResult =
  /** Done (or, `duplicate`, done before: a retry); `booking` is the booking a take made, `from` a capacity change's old value. */
  | { ok: true; doc: SlotDoc; booking?: Booking; duplicate?: boolean; from?: number }
  | { ok: false; reason: 'exhausted' | 'below_booked' | 'overridden'; available: number; booked: number; doc: SlotDoc };

/** How many times a batch is decided again after other writers changed the ledger first. */
const MAX_ATTEMPTS = 50;
/** Ledgers this process remembers as it last wrote or read them (a stale one only costs a retry). */
const KNOWN_MAX = 10_000;

/**
 * Every change of slots goes through here. Changes to one session/date are decided together
 * (group commit, one batch at a time per date in this process) and written as one
 * compare-and-set of the ledger's version with the events that announce them; on a conflict
 * (another replica wrote first) the batch is re-read and decided again. After the write, its
 * other half: new bookings are written with one bulk insert, released bookings lose their
 * `releasing` mark, holds get their expiry timers, and the events are published. Until then a
 * change stays `inflight` on the ledger, which is what makes retries and sweeps safe: a take is
 * a duplicate if its booking is in flight or exists (a booking is written before its change
 * leaves the ledger, and leaving changes the version); a release, if it is in flight or its
 * booking is no longer marked (unmarked before its change leaves the ledger).
 */
export class Ledger {
  private readonly slots: SlotStore;
  private readonly batches = new GroupCommit<LedgerRequest, LedgerResult | undefined>((key, requests) => this.commit(key, requests));
  private readonly known = new Map<string, SlotDoc>();
  /** In-flight changes whose other half is done, dropped from the ledger by its next write. */
  private readonly done = new Map<string, Set<string>>();

  constructor(
    private readonly service: CapacityService,
    private readonly bookings: BookingStore,
    private readonly log: Logger,
  ) {
    this.slots = new SlotStore(service.outboxCollection<SlotDoc>('slots', (entry, doc) => this.prepare(entry, doc as SlotDoc)));
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

  /** Records that an alert condition flipped (with its `alert.raised` event when raised); null if it already had. */
  flipAlert(id: string, type: CapacityAlertType, raised: boolean, event?: EventEnvelope): Promise<SlotDoc | null> {
    return this.slots.setAlert(id, type, raised, event);
  }

  /**
   * Takes a new booking's slots. `reused`: the booking's id may have been taken before (a retry
   * under an idempotency key, a waitlist entry's booking), so a booking already there is
   * answered as a duplicate instead of taking slots twice.
   */
  take(place: Place, booking: Booking, reused = false): Promise<LedgerResult> {
    return this.submit({ ...place, kind: 'take', booking, reused });
  }

  /** Gives back the slots of a booking already marked cancelled or expired (once, however often asked). */
  release(place: Place, booking: Booking & { status: 'cancelled' | 'expired' }): Promise<LedgerResult> {
    return this.submit({ ...place, kind: 'release', booking });
  }

  /** Sets one date's capacity, or (`default`) follows a new default unless the date has its own. */
  adjust(place: Place, to: number, scope: 'date' | 'default', reason: string | null): Promise<LedgerResult> {
    return this.submit({ ...place, kind: 'capacity', to, scope, reason });
  }

  private async submit(request: Exclude<LedgerRequest, { kind: 'tidy' }>): Promise<LedgerResult> {
    assertBeforeDeadline(); // the caller already gave up: the change must not happen
    return (await this.batches.submit(slotId(request.sessionId, request.date), request)) as LedgerResult;
  }

  private async commit(key: string, requests: LedgerRequest[]): Promise<(LedgerResult | undefined)[]> {
    const place = requests.find((r): r is Exclude<LedgerRequest, { kind: 'tidy' }> => r.kind !== 'tidy');
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const doc = await this.load(key, place);
      if (!doc) return requests.map(() => undefined);
      const plan = await this.plan(doc, requests);
      const dropped = new Set(this.done.get(key)); // as it is now: more may finish while this writes
      if (!plan.changed && dropped.size === 0) return plan.results(doc);

      const inflight = [...doc.inflight.filter((change) => !dropped.has(change.id)), ...plan.accepted];
      const written = await this.slots.commit(key, doc.version, plan.figures, inflight, plan.events);
      if (!written) {
        this.known.delete(key); // another writer was first: decide again from what it wrote
        continue;
      }
      this.remember(key, written);
      for (const id of dropped) this.done.get(key)?.delete(id);
      await this.finish(key, written, plan.accepted, plan.events);
      return plan.results(written);
    }
    throw new AppError('upstream_unavailable', 'The ledger is too busy; try again');
  }

  /** Decides a batch against `doc`: what is accepted, the figures after it, its events and each request's result. */
  private async plan(doc: SlotDoc, requests: LedgerRequest[]) {
    const inflight = new Map(doc.inflight.map((change) => [change.id, change]));
    const reused = requests.flatMap((r) => (r.kind === 'take' && r.reused && !inflight.has(r.booking.id) ? [r.booking.id] : []));
    const existing = await this.bookings.existing(doc.tenantId, reused);
    const releases = requests.flatMap((r) => (r.kind === 'release' && !inflight.has(releaseId(r.booking.id)) ? [r.booking.id] : []));
    const stillMarked = releases.length ? await this.bookings.releasing(releases) : new Set<string>();

    // Each request is either answered from what is already there (a duplicate), or a change to decide.
    // A second take of one booking in the same batch shares the first one's outcome.
    const firstInBatch = new Map<string, number>();
    const sameAs = new Map<number, number>();
    const known: (Booking | true | undefined)[] = requests.map((r, index) => {
      if (r.kind === 'take') {
        const taken = inflight.get(r.booking.id);
        const stored = existing.find((e) => e._id === r.booking.id);
        const duplicate = (taken?.kind === 'take' ? taken.booking : undefined) ?? (stored && toBooking(stored));
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
      if (known[index] !== undefined || sameAs.has(index) || r.kind === 'tidy') return;
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
    requests.forEach((r, index) => {
      if (!decided.get(index)?.accepted || r.kind === 'tidy') return;
      if (r.kind === 'take') {
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

    const results = (written: SlotDoc): (LedgerResult | undefined)[] =>
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
        const decision = decided.get(index);
        if (!decision) return undefined;
        if (!decision.accepted)
          return { ok: false, reason: decision.reason, available: decision.available, booked: decision.booked, doc: written };
        return { ok: true, doc: written, booking: r.kind === 'take' ? r.booking : undefined, from: decision.from };
      });
    return { figures, accepted, events, results, changed: decisions.some((d) => d.accepted) };
  }

  /**
   * The other half of a written batch. A failure here does not fail the batch — the change is
   * committed, and the sweep finishes it from the ledger's `inflight`.
   */
  private async finish(key: string, doc: SlotDoc, accepted: Inflight[], events: EventEnvelope[]): Promise<void> {
    try {
      await this.completeInflight(doc, accepted);
      await this.slots.publish(doc, events);
    } catch (error) {
      this.log.warn({ err: error, ledger: key }, 'finishing a ledger batch failed; the sweep will finish it');
    }
  }

  /** Writes the taken bookings, unmarks the released ones, schedules hold expiries; then they are done. */
  private async completeInflight(doc: SlotDoc, changes: Inflight[]): Promise<void> {
    const takes = changes.flatMap((c) => (c.kind === 'take' ? [c] : []));
    await this.bookings.insertMany(
      doc.tenantId,
      takes.map((c) => c.booking),
    );
    await this.bookings.released(changes.flatMap((c) => (c.kind === 'release' ? [c.bookingId] : [])));
    const holds = takes.flatMap(({ booking }) => (booking.status === 'held' && booking.holdExpiresAt ? [booking] : []));
    await this.service.jobs.scheduleMany(
      'hold-expiry',
      holds.map((b) => ({ id: b.id, dueAt: new Date(b.holdExpiresAt as string), payload: { tenantId: doc.tenantId, bookingId: b.id } })),
    );
    const done = this.done.get(doc._id) ?? new Set<string>();
    this.done.set(doc._id, done);
    for (const change of changes) done.add(change.id);
  }

  /**
   * The sweep: finishes changes left in flight for more than `ageMs` — by a crash, a failed other
   * half, or simply finished on a date no write came to since (those only need dropping) — and
   * drops them from the ledger.
   */
  async finishStale(ageMs: number): Promise<number> {
    const before = new Date(this.service.clock.now().getTime() - ageMs).toISOString();
    const stale = await this.slots.withInflightSince(before, 100);
    for (const doc of stale) {
      const done = this.done.get(doc._id);
      await this.completeInflight(
        doc,
        doc.inflight.filter((c) => c.at < before && !done?.has(c.id)),
      );
      await this.batches.submit(doc._id, { kind: 'tidy' });
    }
    return stale.length;
  }

  /**
   * Before a stored ledger event is published by the relay's sweep (a crash before its batch was
   * finished): the change's other half is done first, so the event never announces a booking
   * that cannot be read.
   */
  private async prepare(entry: OutboxEntry, doc: SlotDoc): Promise<EventEnvelope> {
    const done = this.done.get(doc._id);
    const data = entry.envelope.data as { booking?: Booking };
    const id = data.booking?.id;
    const open = doc.inflight.filter((c) => !done?.has(c.id) && (c.id === id || c.id === releaseId(id ?? '')));
    if (open.length) await this.completeInflight(doc, open);
    return entry.envelope;
  }

  private async load(key: string, place: Place | undefined): Promise<SlotDoc | null> {
    const known = this.known.get(key) ?? (await this.slots.byId(key));
    if (known || !place) return known;
    return this.slots.create(place.tenantId, place.sessionId, place.date, await place.defaultCapacity());
  }

  private remember(key: string, doc: SlotDoc) {
    if (this.known.size >= KNOWN_MAX) this.known.clear();
    this.known.set(key, doc);
  }
}

/** The slots of a session/date that nobody could take: `capacity_exhausted` with what is left. */
export function exhausted(available: number | undefined): AppError {
  const left = Math.max(0, available ?? 0);
  return new AppError('capacity_exhausted', `Only ${quantity(left, 'slot')} left`, { availableSlots: left });
}
