import { createHash } from 'node:crypto';
import { AppError, BookingRow, CapacityRow, SessionRow } from '@allot/contracts';
import type { ImportRowKind, RowOutcome } from '@allot/kit';
import type { z } from 'zod';
import { createBooking } from './bookings';
import type { Capacity } from './context';
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
 */
export const bookingRows = (cap: Capacity): ImportRowKind<Row<typeof BookingRow>> => ({
  schema: BookingRow,
  // Bookings of one place in file order: when seats run out, the earlier rows have them.
  keyOf: (row) => `${row.sessionExternalId}:${row.date}`,
  async classify(tenantId, row) {
    if (await cap.bookings.find(tenantId, importedBookingId(tenantId, row.externalRef))) return 'unchanged';
    const session = await sessionOf(cap, tenantId, row);
    if (!session.isActive)
      throw new AppError('session_inactive', 'The session is not taking bookings', {
        field: 'sessionExternalId',
        value: row.sessionExternalId,
      });
    const slots = row.adults + (row.children ?? 0);
    const slot = await cap.ledger.find(tenantId, session._id, row.date);
    const available = slot ? slot.available : session.maxCapacity;
    if (available < slots)
      throw new AppError('capacity_exhausted', `Only ${available} slots are left on ${row.date}`, { field: 'adults', value: row.adults });
    return 'created';
  },
  async apply(tenantId, row) {
    const session = await sessionOf(cap, tenantId, row);
    const id = importedBookingId(tenantId, row.externalRef);
    const input = {
      sessionId: session._id,
      date: row.date,
      adults: row.adults,
      children: row.children ?? 0,
      bookingType: 'regular' as const,
      hold: false,
      userId: row.userId,
    };
    await createBooking(cap, tenantId, { kind: 'apiKey', keyId: 'import' }, input, `import-booking:${id}`, () => id).catch(
      asRowError('adults', row.adults),
    );
  },
});

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
