import { bookingIndexes } from './store/bookings';
import { queueIndexes } from './store/queue';
import { sessionIndexes } from './store/sessions';
import { slotIndexes } from './store/slots';

export const capacityIndexes = { sessions: sessionIndexes, slots: slotIndexes, bookings: bookingIndexes, queue: queueIndexes };
