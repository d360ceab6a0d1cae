/**
 * The read model as values (services/availability/README.md): what is known of a session and of a session/date, how a
 * newer fact replaces an older one, and the figures clients see. Pure: no I/O.
 */
import type { Availability, AvailabilityUpdated, SlotSnapshot } from '@allot/contracts';

/**
 * What the model knows of a session. Its details (name, active) and its default capacity arrive
 * in different events, so each keeps the session version it was taken at: an event reordered
 * behind a newer one never overwrites what that one set.
 */
export interface SessionState {
  tenantId: string;
  sessionId: string;
  name: string;
  isActive: boolean;
  /** Session version of `name` and `isActive`; 0 while only the capacity is known. */
  detailsVersion: number;
  maxCapacity: number;
  capacityVersion: number;
  /** When a part of it last changed. */
  updatedAt: string;
}

/** The figures of one session/date as its ledger last announced them. */
export interface SlotState extends SlotSnapshot {
  tenantId: string;
  lastUpdated: string;
}

/** A fact about a session from one event: its details, its default capacity, or both. */
export interface SessionFact {
  tenantId: string;
  sessionId: string;
  version: number;
  at: string;
  details?: { name: string; isActive: boolean };
  maxCapacity?: number;
}

export const slotKey = (sessionId: string, date: string) => `${sessionId}:${date}`;

/** The session with what the fact adds, or the same object if the fact is not newer. */
export function mergeSession(current: SessionState | undefined, fact: SessionFact): SessionState {
  const base: SessionState = current ?? {
    tenantId: fact.tenantId,
    sessionId: fact.sessionId,
    name: '',
    isActive: false,
    detailsVersion: 0,
    maxCapacity: 0,
    capacityVersion: 0,
    updatedAt: fact.at,
  };
  const details = fact.details && fact.version > base.detailsVersion;
  const capacity = fact.maxCapacity !== undefined && fact.version > base.capacityVersion;
  if (!details && !capacity && current) return current;
  return {
    ...base,
    updatedAt: [fact.at, base.updatedAt].sort()[1] as string, // the later: ISO timestamps sort as text
    ...(details ? { ...fact.details, detailsVersion: fact.version } : {}),
    ...(capacity ? { maxCapacity: fact.maxCapacity as number, capacityVersion: fact.version } : {}),
  };
}

/** Of two states of a session, the one each part of which is newest. */
export function newerSession(a: SessionState | undefined, b: SessionState): SessionState {
  const withDetails = mergeSession(a, {
    ...b,
    at: b.updatedAt,
    version: b.detailsVersion,
    details: b.detailsVersion > 0 ? { name: b.name, isActive: b.isActive } : undefined,
  });
  return mergeSession(withDetails, {
    ...b,
    at: b.updatedAt,
    version: b.capacityVersion,
    maxCapacity: b.capacityVersion > 0 ? b.maxCapacity : undefined,
  });
}

/** Whether the session exists for the model: its details have arrived. */
export const isKnown = (session: SessionState | undefined): session is SessionState => (session?.detailsVersion ?? 0) > 0;

/** The slot that is newer (a higher version); `current` on a tie, so a duplicate changes nothing. */
export function newerSlot(current: SlotState | undefined, incoming: SlotState): SlotState {
  return current && current.version >= incoming.version ? current : incoming;
}

export function utilizationPercentage(booked: number, capacity: number): number {
  return capacity > 0 ? Math.round((booked / capacity) * 10_000) / 100 : 0;
}

/** What a client sees of a session on a date: its ledger's figures, or its capacity if nobody booked. */
export function availabilityOf(session: SessionState, date: string, slot: SlotState | undefined): Availability {
  const maxSlots = slot?.maxSlots ?? session.maxCapacity;
  const bookedSlots = slot?.bookedSlots ?? 0;
  const availableSlots = slot?.availableSlots ?? maxSlots;
  return {
    sessionId: session.sessionId,
    sessionName: session.name,
    date,
    maxSlots,
    bookedSlots,
    availableSlots,
    isAvailable: availableSlots > 0,
    utilizationPercentage: utilizationPercentage(bookedSlots, maxSlots),
    lastUpdated: slot?.lastUpdated ?? session.updatedAt,
  };
}

/** The `availability.updated` payload of a slot state. */
export function updateOf(slot: SlotState): AvailabilityUpdated {
  return {
    sessionId: slot.sessionId,
    date: slot.date,
    maxSlots: slot.maxSlots,
    bookedSlots: slot.bookedSlots,
    availableSlots: slot.availableSlots,
    isAvailable: slot.availableSlots > 0,
    version: slot.version,
  };
}
