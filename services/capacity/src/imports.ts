import {
  AppError,
  type CapacityRow,
  CapacityRow as CapacityRowSchema,
  type SessionRow,
  SessionRow as SessionRowSchema,
} from '@allot/contracts';
import type { ImportRowKind, RowOutcome } from '@allot/kit';
import type { z } from 'zod';
import type { Capacity } from './context';
import { createSession, setCapacity, updateSession } from './sessions';
import type { SessionDoc } from './store/sessions';

type Row<T> = z.output<T extends z.ZodType ? T : never>;

/**
 * The `sessions` rows of an import: upserted by the tenant's external id. A new session's id is
 * fixed by its external id (one id per tenant and external id), so a row applied again after a
 * crash finds the session it created instead of creating a second.
 */
export const sessionRows = (cap: Capacity): ImportRowKind<Row<typeof SessionRowSchema>> => ({
  schema: SessionRowSchema,
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
function sessionChanges(current: SessionDoc, row: SessionRow) {
  const patch: { name?: string; description?: string; isActive?: boolean; maxCapacity?: number } = {};
  if (row.name !== current.name) patch.name = row.name;
  if (row.description !== undefined && row.description !== current.description) patch.description = row.description;
  if (row.isActive !== undefined && row.isActive !== current.isActive) patch.isActive = row.isActive;
  if (row.maxCapacity !== current.maxCapacity) patch.maxCapacity = row.maxCapacity;
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** The `capacity` rows of an import: one date's capacity of a session named by its external id, set through its ledger. */
export const capacityRows = (cap: Capacity): ImportRowKind<Row<typeof CapacityRowSchema>> => ({
  schema: CapacityRowSchema,
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

async function sessionOf(cap: Capacity, tenantId: string, row: CapacityRow): Promise<SessionDoc> {
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
