import { createHash } from 'node:crypto';
import { AppError, BookingRow, CapacityRow, SessionRow } from '@allot/contracts';
import type { ImportRowKind, RowOutcome } from '@allot/kit';
import type { z } from 'zod';
import { checkHoarding, placeOf } from './bookings';
import type { Capacity } from './context';
import { isPastDate } from './domain/dates';
import { createSession, setCapacity, updateSession } from './sessions';
import type { SessionDoc } from './store/sessions';

type Row<T> = z.output<T extends z.ZodType ? T : never>;

/**
 * The `sessions` rows of an import: upserted by the tenant's external id. A new session's id is
 * fixed by its external id (one id per tenant and external id), so a row applied again after a
 * crash finds the session it created instead of creating a second.
 */
export const sessionRows = (cap: Capacity): ImportRowKind<Row<typeof SessionRow>> => ({
  schema: SessionRow,
  keyOf: (row) => row.externalId,
  async classify(tenantId, row) {
    const current = await cap.sessions.findByExternalId(tenantId, row.externalId);
    if (!current) return 'created';
    return sessionChanges(current, row) ? 'updated' : 'unchanged';
  },
  async apply(tenantId, row) {
    const current = await cap.sessions.findByExternalId(tenantId, row.externalId);
    if (!current) {
      await createSession(
        cap,
        tenantId,
        {
          name: row.name,
          description: row.description ?? '',
          maxCapacity: row.maxCapacity,
          isActive: row.isActive ?? true,
          queuePromotion: 'confirm',
          offerMinutes: 30,
          externalId: row.externalId,
        },
        `import-session:${tenantId}:${row.externalId}`,
      );
      return;
    }
    const patch = sessionChanges(current, row);
    if (!patch) return;
    const { maxCapacity, ...rest } = patch;
    if (maxCapacity !== undefined)
      await setCapacity(cap, tenantId, current._id, { maxCapacity, reason: 'import' }).catch(asRowError('maxCapacity', maxCapacity));
    if (Object.keys(rest).length > 0) await updateSession(cap, tenantId, current._id, rest);
  },
});

/** What a row would change of a session (undefined: nothing). */
function sessionChanges(current: SessionDoc, row: Row<typeof SessionRow>) {
  const patch: { name?: string; description?: string; isActive?: boolean; maxCapacity?: number } = {};
  if (row.name !== current.name) patch.name = row.name;
  if (row.description !== undefined && row.description !== current.description) patch.description = row.description;
  if (row.isActive !== undefined && row.isActive !== current.isActive) patch.isActive = row.isActive;
  if (row.maxCapacity !== current.maxCapacity) patch.maxCapacity = row.maxCapacity;
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** The `capacity` rows of an import: one date's capacity of a session named by its external id, set through its ledger. */
export const capacityRows = (cap: Capacity): ImportRowKind<Row<typeof CapacityRow>> => ({
  schema: CapacityRow,
  keyOf: (row) => `${row.sessionExternalId}:${row.date}`,
  async classify(tenantId, row) {
    const session = await sessionOf(cap, tenantId, row);
    const slot = await cap.ledger.find(tenantId, session._id, row.date);
    if (slot && slot.booked > row.capacity)
      throw new AppError('capacity_below_booked', `${slot.booked} slots are booked on ${row.date}`, {
        field: 'capacity',
        value: row.capacity,
      });
    if (!slot?.override) return 'created' satisfies RowOutcome;
    return slot.maxSlots === row.capacity ? 'unchanged' : 'updated';
  },
  async apply(tenantId, row) {
    const session = await sessionOf(cap, tenantId, row);
    await setCapacity(cap, tenantId, session._id, { maxCapacity: row.capacity, date: row.date, reason: 'import' }).catch(
      asRowError('capacity', row.capacity),
    );
  },
});

/**
 * The `bookings` rows of an import: bookings made in another system, taking their slots on the
 * ledger like any booking — a row that does not fit is refused, never overbooked. A booking's id
 * is derived from the tenant and the row's `externalRef`, so the same reference imported again
 * (or applied again after a crash) is the booking already there, left as it is.
 *
 * A batch is applied at once: its rows checked as the API checks a booking, their ids claimed
 * with one insert (the claims already there are the rows imported before: `unchanged`), and
 * every take handed to the ledger in file order before any is awaited — so the ledger engine
 * decides each date's takes together, in file order (the earlier rows get the last seats),
 * writes each date once (the batch's bookings on it compactly: `Ledger.importTake`) and the
 * bookings with one insert, whatever API bookings of those dates arrive meanwhile.
 */
export const bookingRows = (cap: Capacity): ImportRowKind<Row<typeof BookingRow>> => ({
  schema: BookingRow,
  keyOf: (row) => `${row.sessionExternalId}:${row.date}`,
  async classify(tenantId, row) {
    if (await cap.bookings.find(tenantId, importedBookingId(tenantId, row.externalRef))) return 'unchanged';
    const session = await sessionOf(cap, tenantId, row);
    await refuseBooking(cap, tenantId, row, session);
    const slots = row.adults + (row.children ?? 0);
    const slot = await cap.ledger.find(tenantId, session._id, row.date);
    const available = slot ? slot.available : session.maxCapacity;
    if (available < slots)
      throw new AppError('capacity_exhausted', `Only ${available} slots are left on ${row.date}`, { field: 'adults', value: row.adults });
    return 'created';
  },
  async applyBatch(tenantId, rows, { importId, batchId, retry }) {
    const outcomes: (RowOutcome | AppError)[] = new Array(rows.length);
    const sessions = new Map<string, Promise<SessionDoc | AppError>>();
    const sessionFor = (row: Row<typeof BookingRow>) => {
      if (!sessions.has(row.sessionExternalId))
        sessions.set(
          row.sessionExternalId,
          sessionOf(cap, tenantId, row).catch((error: unknown) => (error instanceof AppError ? error : Promise.reject(error))),
        );
      return sessions.get(row.sessionExternalId) as Promise<SessionDoc | AppError>;
    };
    const ids = rows.map((row) => importedBookingId(tenantId, row.externalRef));
    const candidates: { index: number; session: SessionDoc }[] = [];
    const inBatch = new Set<string>();
    for (const [index, row] of rows.entries()) {
      const session = await sessionFor(row);
      const refused = session instanceof AppError ? session : await refuseBooking(cap, tenantId, row, session).catch(asAppError);
      if (refused) outcomes[index] = refused;
      else if (inBatch.has(ids[index] as string)) outcomes[index] = 'unchanged';
      else {
        inBatch.add(ids[index] as string);
        candidates.push({ index, session: session as SessionDoc });
      }
    }
    const claimedBefore = await cap.importClaims.claim(
      candidates.map((c) => ids[c.index] as string),
      batchId,
    );
    // A batch run again after a crash takes its own claims again: the ledger answers a take it already made as a duplicate.
    const own = retry
      ? await cap.importClaims.claimedBy(
          [...claimedBefore].map((k) => ids[candidates[k]?.index ?? -1] as string),
          batchId,
        )
      : new Set<string>();
    const takes = candidates.filter((c, k) => !claimedBefore.has(k) || own.has(ids[c.index] as string));
    for (const [k, c] of candidates.entries())
      if (claimedBefore.has(k) && !own.has(ids[c.index] as string)) outcomes[c.index] = 'unchanged';

    const createdAt = cap.clock.now().toISOString();
    // Every take is queued before any is awaited: the ledger decides each date's in this order.
    const taken = takes.map(({ index, session }) => {
      const row = rows[index] as Row<typeof BookingRow>;
      const take = { id: ids[index] as string, adults: row.adults, children: row.children ?? 0, userId: row.userId ?? null };
      return cap.ledger.importTake(placeOf(cap, tenantId, session._id, row.date), take, { importId, createdAt, retry });
    });
    const results = await Promise.all(taken);
    const refused: string[] = [];
    for (const [k, result] of results.entries()) {
      const { index } = takes[k] as { index: number };
      const row = rows[index] as Row<typeof BookingRow>;
      if (result.ok) outcomes[index] = 'created';
      else {
        refused.push(ids[index] as string);
        outcomes[index] = new AppError('capacity_exhausted', `Only ${result.available} slots are left on ${row.date}`, {
          field: 'adults',
          value: row.adults,
        });
      }
    }
    await cap.importClaims.release(refused);
    return outcomes;
  },
});

/** What the API refuses of a booking besides capacity: an inactive session, a past date, a party over the tenant's limit. */
async function refuseBooking(cap: Capacity, tenantId: string, row: Row<typeof BookingRow>, session: SessionDoc): Promise<void> {
  if (!session.isActive)
    throw new AppError('session_inactive', 'The session is not taking bookings', {
      field: 'sessionExternalId',
      value: row.sessionExternalId,
    });
  if (isPastDate(row.date, cap.clock.now()))
    throw new AppError('validation_failed', 'The date is in the past', { field: 'date', value: row.date });
  const slots = row.adults + (row.children ?? 0);
  await checkHoarding(cap, tenantId, importer, { slots, bookingType: 'regular', holdBy: null }).catch(asRowError('adults', row.adults));
}

/** Who makes imported bookings: the tenant's own backend, as an API key would. */
const importer = { kind: 'apiKey', keyId: 'import' } as const;

const asAppError = (error: unknown) => {
  if (error instanceof AppError) return error;
  throw error;
};

/** An imported booking's id: the same for the same tenant and reference, shaped like any booking id. */
export const importedBookingId = (tenantId: string, externalRef: string) =>
  `bk_${createHash('sha256').update(`${tenantId}\u0000${externalRef}`).digest('base64url').slice(0, 26)}`;

async function sessionOf(cap: Capacity, tenantId: string, row: { sessionExternalId: string }): Promise<SessionDoc> {
  const session = await cap.sessions.findByExternalId(tenantId, row.sessionExternalId);
  if (!session)
    throw new AppError('not_found', 'No session has this external id', { field: 'sessionExternalId', value: row.sessionExternalId });
  return session;
}

/** A refusal of the domain, named by the row's field and value. */
const asRowError = (field: string, value: unknown) => (error: unknown) => {
  if (error instanceof AppError && error.status < 500) throw new AppError(error.code, error.message, { field, value });
  throw error;
};
