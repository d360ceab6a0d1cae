import { z } from 'zod';
import { IsoDate, UserId } from '../primitives';
import { CreateBooking, CreateSession } from './capacity-rpc';
import { UnitCost } from './inventory';
import { CreateSku } from './inventory-rpc';

/**
 * The rows of each import type, validated with the API's own field schemas. A CSV cell is text,
 * so numbers and booleans are read from it first; an empty cell is an absent field.
 */
/** A text cell as a number when the field wants one ("" is absent). */
const numberCell = (value: unknown) => (typeof value === 'string' ? (value.trim() === '' ? undefined : Number(value.trim())) : value);
/** A text cell as a boolean (true/false, yes/no, 1/0; "" is absent). */
const boolCell = (value: unknown) => {
  if (typeof value !== 'string') return value;
  const text = value.trim().toLowerCase();
  if (text === '') return undefined;
  if (['true', 'yes', '1'].includes(text)) return true;
  if (['false', 'no', '0'].includes(text)) return false;
  return value;
};
const textCell = (value: unknown) => (value === '' ? undefined : value);
const num = <T extends z.ZodType>(schema: T) => z.preprocess(numberCell, schema);
const bool = <T extends z.ZodType>(schema: T) => z.preprocess(boolCell, schema);
const text = <T extends z.ZodType>(schema: T) => z.preprocess(textCell, schema);

export const ExternalId = z.string().trim().min(1).max(128);

/** A row of a `sessions` import: the fields of `CreateSession`, keyed by the tenant's own id. */
export const SessionRow = z.strictObject({
  externalId: text(ExternalId),
  name: text(CreateSession.shape.name),
  description: text(z.string().max(2000).optional()),
  maxCapacity: num(CreateSession.shape.maxCapacity),
  isActive: bool(z.boolean().optional()),
});
export type SessionRow = z.infer<typeof SessionRow>;

/** A row of a `capacity` import: one date's capacity of the session with this external id. */
export const CapacityRow = z.strictObject({
  sessionExternalId: text(ExternalId),
  date: text(IsoDate),
  capacity: num(z.number().int().min(1).max(1_000_000)),
});
export type CapacityRow = z.infer<typeof CapacityRow>;

/**
 * A row of a `bookings` import: a booking made in another system, taking its slots on the ledger
 * like any booking (never past capacity), keyed by that system's reference.
 */
export const BookingRow = z.strictObject({
  externalRef: text(ExternalId),
  sessionExternalId: text(ExternalId),
  date: text(IsoDate),
  adults: num(CreateBooking.shape.adults),
  children: num(z.number().int().min(0).max(10_000).optional()),
  userId: text(UserId.optional()),
});
export type BookingRow = z.infer<typeof BookingRow>;

/**
 * A row of a `skus` import: a SKU by its code, created or brought to the row's values. A changed
 * quantity is a stock movement (a restock up, at `unitCost` if given; an adjustment down), so the
 * movements still add up to the stock; an absent quantity or reorder level leaves it as it is.
 */
export const SkuRow = z.strictObject({
  sku: text(CreateSku.shape.sku),
  name: text(CreateSku.shape.name),
  quantity: num(CreateSku.shape.quantity.optional()),
  reorderLevel: num(CreateSku.shape.quantity.optional()),
  unitCost: num(UnitCost.optional()),
});
export type SkuRow = z.infer<typeof SkuRow>;

/** Each type's row schema, for the service that applies it and the docs. */
export const importRows = { sessions: SessionRow, capacity: CapacityRow, bookings: BookingRow, skus: SkuRow } as const;
