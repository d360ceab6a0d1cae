export { startCapacity } from './service';
export { bookingIndexes } from './store/bookings';
