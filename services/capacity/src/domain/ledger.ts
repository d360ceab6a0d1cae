/**
 * How a batch of changes to one session/date's slots is decided (pure): in arrival order,
 * against the figures the previous batch left, each change on its own merits — a booking that
 * does not fit is refused while a smaller one behind it may still fit.
 */

/** A change of slots as the ledger decides it. */
export type SlotChange =
  | { kind: 'take'; slots: number }
  | { kind: 'release'; slots: number }
  | { kind: 'capacity'; to: number; scope: 'date' | 'default' };

export interface Figures {
  maxSlots: number;
  /** Whether `maxSlots` was set for this date (a new default does not reach it). */
  override: boolean;
  booked: number;
  available: number;
}

export type Decision =
  | { accepted: true; from?: number }
  /** `exhausted`: the slots are not there; `below_booked`: capacity under what is booked; `overridden`: a new default skips a date with its own. */
  | { accepted: false; reason: 'exhausted' | 'below_booked' | 'overridden'; available: number; booked: number };

/** Decides each change in order; returns the decisions and the figures after the accepted ones. */
export function decideBatch(start: Figures, changes: SlotChange[]): { figures: Figures; decisions: Decision[] } {
  const f = { ...start };
  return { decisions: changes.map((change) => decide(f, change)), figures: f };
}

/** Decides one change against `f`, moving `f` if it is accepted. */
function decide(f: Figures, change: SlotChange): Decision {
  if (change.kind === 'take') {
    if (f.available < change.slots) return { accepted: false, reason: 'exhausted', available: Math.max(0, f.available), booked: f.booked };
    f.available -= change.slots;
    f.booked += change.slots;
    return { accepted: true };
  }
  if (change.kind === 'release') {
    f.available += change.slots;
    f.booked -= change.slots;
    return { accepted: true };
  }
  if (change.scope === 'default' && f.override) return { accepted: false, reason: 'overridden', available: f.available, booked: f.booked };
  if (change.to < f.booked) return { accepted: false, reason: 'below_booked', available: f.available, booked: f.booked };
  const from = f.maxSlots;
  f.available += change.to - from;
  f.maxSlots = change.to;
  if (change.scope === 'date') f.override = true;
  return { accepted: true, from };
}
