/** Limits against hoarding (see README.md): their defaults, and the checks a booking or an entry must pass. Pure. */
import { AppError, type HoardingLimits } from '@allot/contracts';

export const defaultLimits: HoardingLimits = {
  maxPartySize: 50,
  maxHeldSlotsPerUser: 20,
  maxPendingEntriesPerUser: 5,
  maxConfirmedSlotsPerUser: 50,
};

/** A party larger than the tenant allows is refused, whoever books. */
export function checkPartySize(limits: HoardingLimits, slots: number): void {
  if (slots > limits.maxPartySize) {
    throw new AppError('conflict', `A party may be at most ${limits.maxPartySize} (adults and children together)`, {
      limit: 'maxPartySize',
      maxPartySize: limits.maxPartySize,
    });
  }
}

/** One user holding more slots than allowed (what it holds already, plus this hold). */
export function checkHeldSlots(limits: HoardingLimits, held: number, slots: number): void {
  if (held + slots > limits.maxHeldSlotsPerUser) {
    throw new AppError('conflict', `A user may hold at most ${limits.maxHeldSlotsPerUser} slots at once; confirm or cancel a hold first`, {
      limit: 'maxHeldSlotsPerUser',
      maxHeldSlotsPerUser: limits.maxHeldSlotsPerUser,
      heldSlots: held,
    });
  }
}

/** One user waiting in more waitlists than allowed. */
export function checkPendingEntries(limits: HoardingLimits, pending: number): void {
  if (pending >= limits.maxPendingEntriesPerUser) {
    throw new AppError('conflict', `A user may wait in at most ${limits.maxPendingEntriesPerUser} waitlists at once`, {
      limit: 'maxPendingEntriesPerUser',
      maxPendingEntriesPerUser: limits.maxPendingEntriesPerUser,
    });
  }
}

/**
 * One user token confirming more slots on one session and date than allowed (what it has
 * confirmed there already, plus this booking): holds are bounded, so without this a user could
 * book a whole date by confirming hold after hold.
 */
export function checkConfirmedSlots(limits: HoardingLimits, confirmed: number, slots: number): void {
  if (confirmed + slots > limits.maxConfirmedSlotsPerUser) {
    throw new AppError('conflict', `A user may have at most ${limits.maxConfirmedSlotsPerUser} confirmed slots on one session and date`, {
      limit: 'maxConfirmedSlotsPerUser',
      maxConfirmedSlotsPerUser: limits.maxConfirmedSlotsPerUser,
      confirmedSlots: confirmed,
    });
  }
}
